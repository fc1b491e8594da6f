// Command seed fills a new Tansa data directory with a large access store,
// for the foundation benchmarks (issue #2): tenants, users spread over them,
// API tokens and an audit log of any length.
//
// Tenants, the administrator and a calibration sample of audit entries go
// through the real store methods (sqlite.Open and the access.Store methods,
// one transaction each). The bulk — users, tokens and the rest of the audit
// log — goes through batched transactions on the store's Writer() with the
// same columns, because one synchronous(FULL) commit per row makes a million
// rows take tens of minutes; the calibration sample prints the per-call cost
// so the choice can be checked. At the end the store's own list methods read
// the data back, so a column the bulk path got wrong fails the seed.
//
// Every user has the same password: one argon2id hash from
// access.HashPassword is reused, since hashing 100k passwords takes an hour.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/server"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

type options struct {
	data                          string
	tenants, users, tokens, audit int
	password                      string
	batch, calibrate              int
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.data, "data", "", "new or empty data `directory` (required)")
	fs.IntVar(&o.tenants, "tenants", 50, "number of tenants")
	fs.IntVar(&o.users, "users", 100_000, "number of users besides admin, spread over the tenants")
	fs.IntVar(&o.tokens, "tokens", 100_000, "number of API tokens")
	fs.IntVar(&o.audit, "audit", 1_000_000, "total audit entries (creations of tenants, users and tokens count)")
	fs.StringVar(&o.password, "password", "bench-password-1", "password of admin and of every user")
	fs.IntVar(&o.batch, "batch", 5000, "rows per bulk transaction")
	fs.IntVar(&o.calibrate, "calibrate", 200, "audit entries appended one by one through Store.AppendAudit")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if o.data == "" {
		return errors.New("--data is required")
	}
	start := time.Now()
	fresh, err := server.OpenDataDir(o.data)
	if err != nil {
		return err
	}
	if !fresh {
		return fmt.Errorf("%s is not empty; seed a new directory", o.data)
	}
	db, err := sqlite.Open(ctx, filepath.Join(o.data, "tansa.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	s := &seeder{db: db, o: o, out: stdout}
	return s.seed(ctx, start)
}

type seeder struct {
	db      *sqlite.DB
	o       options
	out     io.Writer
	hash    string
	tenants []string
	userIDs []string
	// clock hands out increasing times so that audit IDs and times agree,
	// ending about now.
	clock time.Time
	step  time.Duration
	rows  int // audit rows written
}

func (s *seeder) now() time.Time {
	s.clock = s.clock.Add(s.step)
	return s.clock
}

func (s *seeder) seed(ctx context.Context, start time.Time) error {
	o := s.o
	need := o.tenants + 1 + o.users + o.tokens + o.calibrate
	if o.audit < need {
		return fmt.Errorf("--audit %d is less than the %d entries the creations and calibration write", o.audit, need)
	}
	s.step = 90 * 24 * time.Hour / time.Duration(o.audit)
	s.clock = time.Now().UTC().Add(-90 * 24 * time.Hour)

	t0 := time.Now()
	h, err := access.HashPassword(o.password)
	if err != nil {
		return err
	}
	s.hash = h
	fmt.Fprintf(s.out, "argon2id hash (once): %v\n", time.Since(t0).Round(time.Millisecond))

	// Through the store, one transaction per call.
	t0 = time.Now()
	sys := "system:bench-seed"
	for i := range o.tenants {
		t := tansa.Tenant{ID: newID(), Name: fmt.Sprintf("Tenant %03d KK", i), Country: []string{"JP", "US", "SG", "DE"}[i%4],
			Language: []string{"ja", "en"}[i%2], TimeZone: "Asia/Tokyo", Contacts: []tansa.Contact{{Name: "IT desk", Email: fmt.Sprintf("it@tenant%03d.example", i), Role: "IT"}}}
		t.Created, t.Updated = s.now(), s.clock
		if err := s.db.CreateTenant(ctx, t, s.entry(sys, "tenant.create", "tenant", t.ID, "", nil, t)); err != nil {
			return err
		}
		s.tenants = append(s.tenants, t.ID)
	}
	admin := tansa.User{ID: newID(), Username: "admin", Name: "Administrator", Role: tansa.RoleProviderAdmin, PasswordHash: s.hash}
	admin.Created, admin.Updated = s.now(), s.clock
	if err := s.db.CreateUser(ctx, admin, s.entry(sys, "user.create", "user", admin.ID, "", nil, admin)); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "store methods: %d tenants + admin in %v\n", o.tenants, time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	for range o.calibrate {
		if err := s.db.AppendAudit(ctx, s.entry("user:admin", "login.ok", "user", admin.ID, "", nil, nil)); err != nil {
			return err
		}
	}
	if o.calibrate > 0 {
		per := time.Since(t0) / time.Duration(o.calibrate)
		fmt.Fprintf(s.out, "store method AppendAudit, one transaction each: %v per entry (%v for 1M entries)\n",
			per.Round(time.Microsecond), (per * 1_000_000).Round(time.Second))
	}

	// Bulk, batched transactions on the writer with the store's columns.
	t0 = time.Now()
	if err := s.bulk(ctx, o.users, s.insertUser); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	fmt.Fprintf(s.out, "bulk: %d users in %v\n", o.users, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	if err := s.bulk(ctx, o.tokens, s.insertToken); err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	fmt.Fprintf(s.out, "bulk: %d tokens in %v\n", o.tokens, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	rest := o.audit - s.rows
	if err := s.bulk(ctx, rest, s.insertActivity); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	fmt.Fprintf(s.out, "bulk: %d more audit entries in %v\n", rest, time.Since(t0).Round(time.Millisecond))

	if _, err := s.db.Writer().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := s.verify(ctx); err != nil {
		return err
	}
	st, _ := os.Stat(filepath.Join(s.o.data, "tansa.db"))
	var size int64
	if st != nil {
		size = st.Size()
	}
	fmt.Fprintf(s.out, "done in %v: %d tenants, %d users, %d tokens, %d audit entries; tansa.db %d MB\n",
		time.Since(start).Round(time.Millisecond), o.tenants, o.users+1, o.tokens, s.rows, size>>20)
	return nil
}

// verify reads the data back through the store's list methods.
func (s *seeder) verify(ctx context.Context) error {
	all := access.Scope{All: true}
	users, nu, err := s.db.Users(ctx, access.UserQuery{Scope: all, Page: access.Page{Limit: 5}})
	if err != nil {
		return fmt.Errorf("verify users: %w", err)
	}
	toks, nt, err := s.db.Tokens(ctx, access.TokenQuery{Scope: all, Page: access.Page{Limit: 5}})
	if err != nil {
		return fmt.Errorf("verify tokens: %w", err)
	}
	audit, na, err := s.db.Audit(ctx, access.AuditQuery{Scope: all, Page: access.Page{Limit: 5}})
	if err != nil {
		return fmt.Errorf("verify audit: %w", err)
	}
	if nu != s.o.users+1 || nt != s.o.tokens || na != s.rows || len(users) == 0 || len(toks) == 0 || len(audit) == 0 {
		return fmt.Errorf("verify: store reports %d users, %d tokens, %d audit entries; want %d, %d, %d",
			nu, nt, na, s.o.users+1, s.o.tokens, s.rows)
	}
	if _, err := s.db.UserByName(ctx, users[0].Username); err != nil {
		return fmt.Errorf("verify user by name: %w", err)
	}
	if _, err := s.db.TokenByHash(ctx, toks[0].Hash); err != nil {
		return fmt.Errorf("verify token by hash: %w", err)
	}
	return nil
}

func (s *seeder) entry(actor, action, objType, objID, tenantID string, before, after any) tansa.AuditEntry {
	a := tansa.AuditEntry{Time: s.now(), TenantID: tenantID, Actor: actor, Addr: "192.0.2.10",
		Action: action, ObjectType: objType, ObjectID: objID}
	if before != nil {
		a.Before, _ = json.Marshal(before)
	}
	if after != nil {
		a.After, _ = json.Marshal(after)
	}
	s.rows++
	return a
}

// Column lists copied from internal/store/sqlstore/access.go (userCols,
// tokenCols and appendAudit); verify catches a drift.
const (
	insertUserSQL = `INSERT INTO users (id, username, name, email, role, tenant_id, tenants, language, time_zone, disabled,
		password_hash, failed_logins, locked_until, last_login, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insertTokenSQL = `INSERT INTO tokens (id, name, role, tenant_id, tenants, hash, prefix, created, creator, last_used, revoked, expires)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insertAuditSQL = `INSERT INTO audit (time, tenant_id, actor, addr, action, object_type, object_id, before_json, after_json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

type stmts struct{ user, token, audit *sql.Stmt }

// bulk calls row n times in transactions of o.batch rows.
func (s *seeder) bulk(ctx context.Context, n int, row func(context.Context, *stmts, int) error) error {
	for done := 0; done < n; {
		end := min(done+s.o.batch, n)
		tx, err := s.db.Writer().BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		var st stmts
		for _, p := range []struct {
			dst **sql.Stmt
			q   string
		}{{&st.user, insertUserSQL}, {&st.token, insertTokenSQL}, {&st.audit, insertAuditSQL}} {
			if *p.dst, err = tx.PrepareContext(ctx, p.q); err != nil {
				_ = tx.Rollback()
				return err
			}
		}
		for i := done; i < end; i++ {
			if err := row(ctx, &st, i); err != nil {
				_ = tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		done = end
	}
	return nil
}

func (s *seeder) audit(ctx context.Context, st *stmts, a tansa.AuditEntry) error {
	_, err := st.audit.ExecContext(ctx, a.Time.UnixMicro(), a.TenantID, a.Actor, a.Addr, a.Action, a.ObjectType, a.ObjectID,
		string(a.Before), string(a.After))
	return err
}

var (
	given  = []string{"Taro", "Hanako", "Kenji", "Yuki", "Akira", "Mei", "John", "Maria", "Wei", "Anna"}
	family = []string{"Yamada", "Suzuki", "Tanaka", "Sato", "Ito", "Watanabe", "Smith", "Garcia", "Chen", "Müller"}
)

func (s *seeder) insertUser(ctx context.Context, st *stmts, i int) error {
	u := tansa.User{ID: newID(), Username: fmt.Sprintf("user%06d", i),
		Name:  given[i%len(given)] + " " + family[(i/len(given))%len(family)],
		Email: fmt.Sprintf("user%06d@tenant%03d.example", i, i%s.o.tenants), PasswordHash: s.hash}
	switch {
	case i%100 == 0:
		u.Role = tansa.RoleProviderAnalyst
	case i%3 == 0:
		u.Role, u.TenantID = tansa.RoleTenantAdmin, s.tenants[i%len(s.tenants)]
	default:
		u.Role, u.TenantID = tansa.RoleTenantViewer, s.tenants[i%len(s.tenants)]
	}
	u.Created, u.Updated = s.now(), s.clock
	s.userIDs = append(s.userIDs, u.ID)
	tenants, _ := json.Marshal(u.Tenants)
	if _, err := st.user.ExecContext(ctx, u.ID, u.Username, u.Name, u.Email, string(u.Role), u.TenantID, string(tenants),
		u.Language, u.TimeZone, 0, u.PasswordHash, 0, 0, 0, u.Created.UnixMicro(), u.Updated.UnixMicro()); err != nil {
		return err
	}
	return s.audit(ctx, st, s.entry("user:admin", "user.create", "user", u.ID, u.TenantID, nil, u))
}

func (s *seeder) insertToken(ctx context.Context, st *stmts, i int) error {
	secret := "tansa_" + random(32)
	sum := sha256.Sum256([]byte(secret))
	t := tansa.Token{ID: newID(), Name: fmt.Sprintf("shipper-%06d", i), Role: tansa.RoleIngest,
		TenantID: s.tenants[i%len(s.tenants)], Hash: hex.EncodeToString(sum[:]), Prefix: secret[:12], Creator: "user:admin"}
	if i%10 == 0 {
		t.Role = tansa.RoleTenantViewer
	}
	t.Created = s.now()
	tenants, _ := json.Marshal(t.Tenants)
	if _, err := st.token.ExecContext(ctx, t.ID, t.Name, string(t.Role), t.TenantID, string(tenants), t.Hash, t.Prefix,
		t.Created.UnixMicro(), t.Creator, 0, 0, 0); err != nil {
		return err
	}
	return s.audit(ctx, st, s.entry("user:admin", "token.create", "token", t.ID, t.TenantID, nil, t))
}

// insertActivity writes the everyday audit entries: logins, failures and
// profile changes of the seeded users.
func (s *seeder) insertActivity(ctx context.Context, st *stmts, i int) error {
	n := i % max(len(s.userIDs), 1)
	user, id := fmt.Sprintf("user%06d", n), ""
	if n < len(s.userIDs) {
		id = s.userIDs[n]
	}
	tenant := s.tenants[n%len(s.tenants)]
	var a tansa.AuditEntry
	switch i % 10 {
	case 0:
		a = s.entry("user:"+user, "login.fail", "user", "", tenant, nil, nil)
	case 1:
		before := map[string]string{"username": user, "language": "ja", "time_zone": "Asia/Tokyo"}
		after := map[string]string{"username": user, "language": "en", "time_zone": "UTC"}
		a = s.entry("user:"+user, "user.update", "user", id, tenant, before, after)
	default:
		a = s.entry("user:"+user, "login.ok", "user", id, tenant, nil, nil)
	}
	return s.audit(ctx, st, a)
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

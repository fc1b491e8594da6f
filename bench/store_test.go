// Package bench holds the foundation benchmarks of issue #2: the programs
// seed, loadgen and readytime, the script foundation.sh, and these Go
// benchmarks of the store calls behind the list APIs and console pages.
//
// The benchmarks read a data directory filled by bench/seed, named by
// TANSA_BENCH_DATA; without it they skip. The Store benchmarks call the
// real store methods; the SQL benchmarks time the single statements those
// methods run, so a slow list can be traced to its COUNT, its ORDER BY or
// its OFFSET. Each SQL benchmark logs SQLite's query plan.
//
//	TANSA_BENCH_DATA=/tmp/seeded go test ./bench -run '^$' -bench . -benchtime 20x
package bench

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
)

func open(b *testing.B) *sqlite.DB {
	b.Helper()
	dir := os.Getenv("TANSA_BENCH_DATA")
	if dir == "" {
		b.Skip("TANSA_BENCH_DATA is not set: give a data directory filled by bench/seed")
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "tansa.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

var all = access.Scope{All: true}

func page(offset int) access.Page { return access.Page{Limit: 50, Offset: offset} }

// BenchmarkStore times the store methods the list APIs call, with the
// queries the load test sends.
func BenchmarkStore(b *testing.B) {
	db := open(b)
	ctx := context.Background()
	var tenant string
	if ts, _, err := db.Tenants(ctx, access.TenantQuery{Scope: all, Page: page(0)}); err != nil || len(ts) == 0 {
		b.Fatalf("no tenants: %v", err)
	} else {
		tenant = ts[0].ID
	}
	cases := []struct {
		name string
		fn   func() (int, error)
	}{
		{"UsersList", func() (int, error) {
			_, n, err := db.Users(ctx, access.UserQuery{Scope: all, Page: page(0)})
			return n, err
		}},
		{"UsersSearch", func() (int, error) {
			_, n, err := db.Users(ctx, access.UserQuery{Scope: all, Text: "yamada", Page: page(0)})
			return n, err
		}},
		{"UsersOffset50k", func() (int, error) {
			_, n, err := db.Users(ctx, access.UserQuery{Scope: all, Page: page(50_000)})
			return n, err
		}},
		{"UsersOneTenant", func() (int, error) {
			_, n, err := db.Users(ctx, access.UserQuery{Scope: access.Scope{Tenants: []string{tenant}}, Page: page(0)})
			return n, err
		}},
		{"TokensList", func() (int, error) {
			_, n, err := db.Tokens(ctx, access.TokenQuery{Scope: all, Page: page(0)})
			return n, err
		}},
		{"TokensOffset50k", func() (int, error) {
			_, n, err := db.Tokens(ctx, access.TokenQuery{Scope: all, Page: page(50_000)})
			return n, err
		}},
		{"AuditList", func() (int, error) {
			_, n, err := db.Audit(ctx, access.AuditQuery{Scope: all, Page: page(0)})
			return n, err
		}},
		{"AuditOffset500k", func() (int, error) {
			_, n, err := db.Audit(ctx, access.AuditQuery{Scope: all, Page: page(500_000)})
			return n, err
		}},
		{"AuditActionPrefix", func() (int, error) {
			_, n, err := db.Audit(ctx, access.AuditQuery{Scope: all, Action: "user.", Page: page(0)})
			return n, err
		}},
		{"AuditOneTenant", func() (int, error) {
			_, n, err := db.Audit(ctx, access.AuditQuery{Scope: access.Scope{Tenants: []string{tenant}}, Page: page(0)})
			return n, err
		}},
		{"TenantsList", func() (int, error) {
			_, n, err := db.Tenants(ctx, access.TenantQuery{Scope: all, Page: page(0)})
			return n, err
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSQL times the statements behind the store's lists one by one.
func BenchmarkSQL(b *testing.B) {
	db := open(b)
	r := db.Reader()
	cases := []struct{ name, q string }{
		{"CountUsers", "SELECT COUNT(*) FROM users"},
		{"CountTokens", "SELECT COUNT(*) FROM tokens"},
		{"CountAudit", "SELECT COUNT(*) FROM audit"},
		{"MaxIDAudit", "SELECT COALESCE(MAX(id), 0) FROM audit"},
		{"CountAuditActionPrefix", `SELECT COUNT(*) FROM audit WHERE action LIKE 'user.%' ESCAPE '\'`},
		{"CountUsersSearch", `SELECT COUNT(*) FROM users WHERE (LOWER(username) LIKE '%yamada%' ESCAPE '\' OR LOWER(name) LIKE '%yamada%' ESCAPE '\' OR LOWER(email) LIKE '%yamada%' ESCAPE '\')`},
		{"UsersPageOrderLower", "SELECT id FROM users ORDER BY LOWER(username), username, id LIMIT 50"},
		{"UsersPageOrderUsername", "SELECT id FROM users ORDER BY username LIMIT 50"},
		{"UsersPageAllColsOrderLower", "SELECT * FROM users ORDER BY LOWER(username), username, id LIMIT 50"},
		{"UsersOffset50kOrderLower", "SELECT id FROM users ORDER BY LOWER(username), username, id LIMIT 50 OFFSET 50000"},
		{"UsersOffset50kOrderUsername", "SELECT id FROM users ORDER BY username LIMIT 50 OFFSET 50000"},
		{"TokensPage", "SELECT * FROM tokens ORDER BY created DESC, id DESC LIMIT 50"},
		{"TokensOffset50k", "SELECT * FROM tokens ORDER BY created DESC, id DESC LIMIT 50 OFFSET 50000"},
		{"TokensOffset50kIDsOnly", "SELECT id FROM tokens ORDER BY created DESC, id DESC LIMIT 50 OFFSET 50000"},
		{"AuditPage", "SELECT * FROM audit ORDER BY id DESC LIMIT 50"},
		{"AuditOffset500k", "SELECT * FROM audit ORDER BY id DESC LIMIT 50 OFFSET 500000"},
		{"AuditPageActionPrefix", `SELECT * FROM audit WHERE action LIKE 'user.%' ESCAPE '\' ORDER BY id DESC LIMIT 50`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.Log("plan: " + plan(b, r, c.q))
			for b.Loop() {
				rows, err := r.Query(c.q)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				rows.Close()
			}
		})
	}
}

func plan(b *testing.B, r *sql.DB, q string) string {
	rows, err := r.Query("EXPLAIN QUERY PLAN " + q)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			b.Fatal(err)
		}
		steps = append(steps, detail)
	}
	return strings.Join(steps, "; ")
}

// BenchmarkHashPassword times one argon2id hash: the server computes one at
// package initialisation (access.dummyHash) and, on a first start, one more
// for the administrator — both inside time-to-ready.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := access.HashPassword("bench-password-1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuiltinLower runs the statements that call LOWER on a connection
// of the plain modernc.org/sqlite driver, whose LOWER is SQLite's own (ASCII)
// C function, to set against BenchmarkSQL, whose connections come from
// sqlite.Open and call back into Go's strings.ToLower for every row.
func BenchmarkBuiltinLower(b *testing.B) {
	dir := os.Getenv("TANSA_BENCH_DATA")
	if dir == "" {
		b.Skip("TANSA_BENCH_DATA is not set: give a data directory filled by bench/seed")
	}
	r, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "tansa.db")+"?_pragma=query_only(1)&_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	for _, c := range []struct{ name, q string }{
		{"UsersPageOrderLower", "SELECT id FROM users ORDER BY LOWER(username), username, id LIMIT 50"},
		{"CountUsersSearch", `SELECT COUNT(*) FROM users WHERE (LOWER(username) LIKE '%yamada%' ESCAPE '\' OR LOWER(name) LIKE '%yamada%' ESCAPE '\' OR LOWER(email) LIKE '%yamada%' ESCAPE '\')`},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				rows, err := r.Query(c.q)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				rows.Close()
			}
		})
	}
}

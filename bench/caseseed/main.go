// Command caseseed fills a new Tansa data directory with cases for the case
// list and case page benchmarks (issue #7): tenants, cases spread over them
// with their tasks, observables, timeline and linked alerts, and the alerts
// themselves.
//
// Tenants and a calibration sample of cases go through the real services
// (access.Service.CreateTenant, cases.Service.Create on sqlite.Open). The
// bulk goes through batched transactions on the store's Writer() with the
// columns of migrations 00008, 00045 and 00046 (breach_at, the title index
// and the tracker's columns on tasks computed by the store's own
// functions: sqlstore.BreachAt, TitleGrams, TaskTracked, TaskDueOrder),
// because one synchronous(FULL) commit per case
// makes 100k cases take an hour; the calibration prints the per-call cost so
// the choice can be checked. Alerts are written to the alerts table of
// internal/alert with its columns when that table exists in the schema
// (table-compatible bulk path; the alert store's Raise deduplicates one
// alert at a time), and are only linked by ID otherwise; the seed says
// which. At the end the cases service reads the data back and the seed fails
// on a mismatch.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/server"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/store/sqlstore"
	"github.com/tansa-sec/tansa/internal/tansa"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "caseseed:", err)
		os.Exit(1)
	}
}

type options struct {
	data                                     string
	tenants, cases, alertsPer, tasksPer, cal int
	batch                                    int
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("caseseed", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.data, "data", "", "data directory to create (must not exist)")
	fs.IntVar(&o.tenants, "tenants", 10, "tenants")
	fs.IntVar(&o.cases, "cases", 100_000, "cases in all")
	fs.IntVar(&o.alertsPer, "alerts-per-case", 10, "alerts linked to each case")
	fs.IntVar(&o.tasksPer, "tasks-per-case", 5, "tasks of each bulk case")
	fs.IntVar(&o.cal, "calibrate", 100, "cases made through cases.Service.Create")
	fs.IntVar(&o.batch, "batch", 2000, "cases per bulk transaction")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if o.data == "" {
		return errors.New("-data is required")
	}
	if _, err := os.Stat(o.data); err == nil {
		return fmt.Errorf("%s exists; give a new directory", o.data)
	}
	// The data directory's marker, as tansa serve expects it.
	if _, err := server.OpenDataDir(o.data); err != nil {
		return err
	}
	db, err := sqlite.Open(ctx, filepath.Join(o.data, "tansa.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	acc := access.New(db, access.Options{})
	svc, err := cases.New(db, acc, acc, cases.Options{})
	if err != nil {
		return err
	}
	sys := access.Caller{Principal: access.System("caseseed")}
	start := time.Now()

	var tenants []tansa.Tenant
	for i := range o.tenants {
		name, lang := fmt.Sprintf("Group company %02d", i), "ja"
		if i%3 == 2 {
			lang = "en"
		}
		t, err := acc.CreateTenant(ctx, sys, access.TenantInput{Name: &name, Language: &lang})
		if err != nil {
			return err
		}
		tenants = append(tenants, t)
	}

	// Calibration: the real path, one transaction per case.
	calStart := time.Now()
	for i := range o.cal {
		if _, err := svc.Create(ctx, sys, cases.CaseInput{TenantID: tenants[i%len(tenants)].ID, Title: fmt.Sprintf("Calibration case %d", i),
			Type: cases.BuiltinTypes[i%len(cases.BuiltinTypes)], AlertIDs: []string{uuid.NewString()},
			Observables: []cases.ObservableInput{{Value: fmt.Sprintf("198.51.100.%d", i%250+1)}}}); err != nil {
			return fmt.Errorf("calibration case %d: %w", i, err)
		}
	}
	if o.cal > 0 {
		per := time.Since(calStart) / time.Duration(o.cal)
		fmt.Fprintf(stdout, "calibration: %d cases through cases.Service.Create, %v per case (%v for %d cases that way)\n",
			o.cal, per, (per * time.Duration(o.cases)).Round(time.Second), o.cases)
	}

	alertsTable := hasTable(ctx, db.Writer(), "alerts")
	if alertsTable {
		fmt.Fprintln(stdout, "alerts: internal/alert's alerts table is in the schema; alerts are written to it (table-compatible bulk path)")
	} else {
		fmt.Fprintln(stdout, "alerts: no alerts table in this build (internal/alert not on main); alerts are linked by ID only")
	}
	r := rand.New(rand.NewPCG(7, 7))
	now := time.Now().UTC().Truncate(time.Microsecond)
	titles := []string{"Emotet beacon from %s", "Phishing wave to 経理部 (%s)", "Impossible travel for %s", "Outbound data to file share %s",
		"VPN appliance exploitation attempt %s", "Ransomware precursor on %s", "Password spraying against %s"}
	types := append([]string{""}, cases.BuiltinTypes...)
	bulkStart := time.Now()
	alertsWritten := 0
	for done := 0; done < o.cases; done += o.batch {
		n := min(o.batch, o.cases-done)
		if err := bulk(ctx, db.Writer(), func(tx *sql.Tx) error {
			for i := range n {
				seq := done + i
				t := tenants[seq%len(tenants)]
				created := now.Add(-time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
				sev := cases.Severities[r.IntN(4)]
				c := cases.Case{ID: uuid.Must(uuid.NewV7()).String(), TenantID: t.ID, Title: fmt.Sprintf(titles[seq%len(titles)], fmt.Sprintf("PC-%05d", seq)),
					Description: "Seeded for the case benchmarks.", Severity: sev, Phase: cases.PhaseClosed, Type: types[seq%len(types)],
					Creator: "system:caseseed", Created: created, Version: 3}
				switch x := r.IntN(10); {
				case x < 7:
					c.Phase, c.Resolution = cases.PhaseClosed, cases.Resolutions[r.IntN(4)]
					c.Acknowledged = created.Add(time.Duration(r.Int64N(int64(6 * time.Hour))))
					c.Contained = c.Acknowledged.Add(time.Duration(r.Int64N(int64(24 * time.Hour))))
					c.Closed = c.Contained.Add(time.Duration(r.Int64N(int64(10 * 24 * time.Hour))))
					c.Updated = c.Closed
				default:
					c.Phase = cases.Phases[1+r.IntN(4)]
					if r.IntN(4) > 0 {
						c.Acknowledged = created.Add(time.Duration(r.Int64N(int64(6 * time.Hour))))
					}
					c.Updated = created.Add(time.Duration(r.Int64N(int64(now.Sub(created)) + 1)))
				}
				if r.IntN(2) == 0 {
					c.Assignee, c.AssigneeName = fmt.Sprintf("analyst-%d", seq%20), fmt.Sprintf("Analyst %d", seq%20)
				}
				target := cases.DefaultSLA[slices.IndexFunc(cases.DefaultSLA, func(s cases.SLATarget) bool { return s.Severity == sev })]
				c.AckDue, c.ContainDue, c.CloseDue = created.Add(target.Acknowledge), created.Add(target.Contain), created.Add(target.Close)
				if err := insertCase(ctx, tx, c); err != nil {
					return err
				}
				for k := range o.alertsPer {
					aid := uuid.Must(uuid.NewV7()).String()
					if _, err := tx.ExecContext(ctx, "INSERT INTO case_alerts (case_id, alert_id, tenant_id, position) VALUES (?, ?, ?, ?)", c.ID, aid, t.ID, k+1); err != nil {
						return err
					}
					if alertsTable {
						seen := sqlstore.Micros(created.Add(-time.Duration(k) * time.Minute))
						if _, err := tx.ExecContext(ctx, `INSERT INTO alerts (id, tenant_id, kind, rule_id, rule_title, level, level_rank, host, user_name,
							group_key, count, first_seen, last_seen, status, assignee, close_reason, created, updated, tags, event_ids, context)
							VALUES (?, ?, 'sigma', ?, ?, ?, ?, ?, '', ?, 1, ?, ?, 'acknowledged', '', '', ?, ?, '[]', '[]', '')`,
							aid, t.ID, fmt.Sprintf("rule-%d", k), fmt.Sprintf("Seeded rule %d", k), sev, slices.Index(tansa.Levels, sev),
							fmt.Sprintf("PC-%05d", seq), fmt.Sprintf("PC-%05d", seq), seen, seen, seen, seen); err != nil {
							return fmt.Errorf("insert alert: %w", err)
						}
						alertsWritten++
					}
				}
				for k := range o.tasksPer {
					st := cases.TaskDone
					if c.Open() && k >= 2 {
						st = cases.TaskOpen
					}
					task := cases.Task{Status: st, Due: created.Add(time.Duration(k+1) * 4 * time.Hour)}
					if _, err := tx.ExecContext(ctx, `INSERT INTO case_tasks (id, case_id, tenant_id, position, phase, title, description, status, owner,
						owner_name, due, completed, created, updated, tracked, case_severity_rank, due_order) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`,
						uuid.Must(uuid.NewV7()).String(), c.ID, t.ID, k+1, string(cases.Phases[1+k%4]), fmt.Sprintf("Seeded task %d", k+1), string(st),
						c.Assignee, c.AssigneeName, sqlstore.Micros(task.Due), sqlstore.Micros(created), sqlstore.Micros(c.Updated),
						sqlstore.TaskTracked(task, c.Open()), slices.Index(cases.Severities, c.Severity), sqlstore.TaskDueOrder(task)); err != nil {
						return err
					}
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO case_observables (id, case_id, tenant_id, type, value, description, creator, created)
					VALUES (?, ?, ?, 'ipv4', ?, '', 'system:caseseed', ?)`, uuid.Must(uuid.NewV7()).String(), c.ID, t.ID,
					fmt.Sprintf("203.0.%d.%d", seq/250%250, seq%250+1), sqlstore.Micros(created)); err != nil {
					return err
				}
				for k, kind := range []string{"case.create", "alert.link", "case.phase"} {
					if _, err := tx.ExecContext(ctx, `INSERT INTO case_timeline (case_id, tenant_id, time, actor, addr, kind, ref, text) VALUES (?, ?, ?, 'system:caseseed', '', ?, '', ?)`,
						c.ID, t.ID, sqlstore.Micros(created.Add(time.Duration(k)*time.Minute)), kind, "seeded "+kind); err != nil {
						return err
					}
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if (done/o.batch)%10 == 0 {
			fmt.Fprintf(stdout, "  %d cases (%v)\n", done+n, time.Since(bulkStart).Round(time.Second))
		}
	}
	fmt.Fprintf(stdout, "bulk: %d cases, %d links, %d alert rows, %d tasks in %v\n", o.cases, o.cases*o.alertsPer, alertsWritten,
		o.cases*o.tasksPer, time.Since(bulkStart).Round(time.Second))

	// Read back through the service.
	_, total, err := svc.Cases(ctx, sys, cases.Query{Page: access.Page{Limit: 0}})
	if err != nil {
		return err
	}
	if want := o.cases + o.cal; total != want {
		return fmt.Errorf("read back %d cases, want %d", total, want)
	}
	l, _, err := svc.Cases(ctx, sys, cases.Query{Scope: access.Scope{Tenants: []string{tenants[0].ID}}, State: "closed", Page: access.Page{Limit: 1}})
	if err != nil || len(l) != 1 || len(l[0].AlertIDs) != o.alertsPer {
		return fmt.Errorf("read back a closed case of %s: %v %v", tenants[0].ID, l, err)
	}
	if ts, err := svc.Tasks(ctx, sys, l[0].ID); err != nil || len(ts) != o.tasksPer {
		return fmt.Errorf("read back the tasks of %s: %d, %v", l[0].ID, len(ts), err)
	}
	fmt.Fprintf(stdout, "seeded %s in %v: %d tenants, %d cases; first tenant %s; a case: %s\n", o.data, time.Since(start).Round(time.Second),
		len(tenants), total, tenants[0].ID, l[0].ID)
	return nil
}

func insertCase(ctx context.Context, tx *sql.Tx, c cases.Case) error {
	m := sqlstore.Micros
	open := 0
	if c.Open() {
		open = 1
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO cases (id, tenant_id, title, description, severity, severity_rank, phase, open, resolution, type,
		assignee, assignee_name, reopened, acknowledged, contained, closed, ack_due, contain_due, close_due, creator, created, updated, version, breach_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.TenantID, c.Title, c.Description, c.Severity, slices.Index(cases.Severities, c.Severity), string(c.Phase), open, string(c.Resolution),
		c.Type, c.Assignee, c.AssigneeName, m(c.Acknowledged), m(c.Contained), m(c.Closed), m(c.AckDue), m(c.ContainDue), m(c.CloseDue),
		c.Creator, m(c.Created), m(c.Updated), c.Version, sqlstore.BreachAt(c))
	if err != nil {
		return fmt.Errorf("insert case: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO case_title_grams (rowid, case_id, grams) SELECT rowid, id, ? FROM cases WHERE id = ?",
		sqlstore.TitleGrams(c.Title), c.ID); err != nil {
		return fmt.Errorf("index case title: %w", err)
	}
	return nil
}

func bulk(ctx context.Context, w *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func hasTable(ctx context.Context, db *sql.DB, name string) bool {
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", name).Scan(&n)
	return err == nil && n == 1
}

package sqlite_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/cases/casestest"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/store/sqlstore"
)

var _ cases.Store = (*sqlite.DB)(nil)

func TestCasesConformance(t *testing.T) {
	casestest.Run(t, func(t *testing.T) cases.Store {
		return open(t, filepath.Join(t.TempDir(), "tansa.db"))
	})
}

// TestCaseBreachAtBackfill checks that migration 00045's backfill of
// breach_at, which fills the column for cases stored before it, computes
// what the store writes (Case.BreachAt) for timers running, stopped in
// time, stopped late, stopped by closing, and without targets.
func TestCaseBreachAtBackfill(t *testing.T) {
	ctx := t.Context()
	db := open(t, filepath.Join(t.TempDir(), "tansa.db"))
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	h := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Hour))) }
	variants := []func(*cases.Case){
		func(c *cases.Case) {},
		func(c *cases.Case) { c.Phase, c.Acknowledged = cases.PhaseTriage, h(0.5) },
		func(c *cases.Case) { c.Phase, c.Acknowledged = cases.PhaseTriage, h(2) },
		func(c *cases.Case) { c.Phase, c.Acknowledged, c.Contained = cases.PhaseRecovery, h(0.5), h(3) },
		func(c *cases.Case) { c.Phase, c.Resolution, c.Closed = cases.PhaseClosed, cases.Benign, h(0.2) },
		func(c *cases.Case) { c.Phase, c.Resolution, c.Closed = cases.PhaseClosed, cases.Benign, h(30) },
		func(c *cases.Case) { c.Phase, c.Acknowledged, c.Contained = cases.PhaseRecovery, h(0.5), h(5) },
		func(c *cases.Case) { c.AckDue, c.ContainDue, c.CloseDue = time.Time{}, time.Time{}, time.Time{} },
		func(c *cases.Case) { c.AckDue = time.Time{} },
	}
	want := map[string]any{}
	for i, f := range variants {
		c := cases.Case{ID: fmt.Sprintf("c%d", i), TenantID: "t1", Title: "x", Severity: "high", Phase: cases.PhaseNew, Creator: "user:test",
			Created: t0, Updated: t0, Version: 1, AckDue: h(1), ContainDue: h(4), CloseDue: h(24)}
		f(&c)
		if err := db.ApplyCase(ctx, cases.Change{Case: &c, Create: true}); err != nil {
			t.Fatal(err)
		}
		want[c.ID] = sqlstore.BreachAt(c)
	}
	mig, err := os.ReadFile("migrations/00045_case_breach_at.sql")
	if err != nil {
		t.Fatal(err)
	}
	stmt := string(mig)
	stmt = stmt[strings.Index(stmt, "UPDATE cases SET breach_at"):]
	stmt = stmt[:strings.Index(stmt, ");\n")+2]
	if _, err := db.Writer().ExecContext(ctx, "UPDATE cases SET breach_at = -1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Writer().ExecContext(ctx, stmt); err != nil {
		t.Fatalf("backfill: %v", err)
	}
	rows, err := db.Writer().QueryContext(ctx, "SELECT id, breach_at FROM cases")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		var got sql.NullInt64
		if err := rows.Scan(&id, &got); err != nil {
			t.Fatal(err)
		}
		n++
		w := want[id]
		if (w == nil) != !got.Valid || (w != nil && w.(int64) != got.Int64) {
			t.Errorf("case %s: backfilled %v, the store writes %v", id, got, w)
		}
	}
	if n != len(variants) {
		t.Errorf("%d cases read back, want %d", n, len(variants))
	}
}

// TestCaseTitleGramsBackfill checks that migration 00046's backfill of the
// title index computes in SQL what the store writes (sqlstore.TitleGrams),
// for ASCII, Japanese, upper-case beyond ASCII and titles too short to
// index.
func TestCaseTitleGramsBackfill(t *testing.T) {
	ctx := t.Context()
	db := open(t, filepath.Join(t.TempDir(), "tansa.db"))
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	titles := []string{"Phishing wave to 経理部 (PC-00001)", "ÜNÏCODE Café ＡＢＣ", "ab", "x", "Quote \"x\" 100% srv_01"}
	for i, title := range titles {
		c := cases.Case{ID: fmt.Sprintf("c%d", i), TenantID: "t1", Title: title, Severity: "low", Phase: cases.PhaseNew, Creator: "user:test",
			Created: t0, Updated: t0, Version: 1}
		if err := db.ApplyCase(ctx, cases.Change{Case: &c, Create: true}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string) {
		t.Helper()
		for i, title := range titles {
			var got string
			err := db.Writer().QueryRowContext(ctx, "SELECT grams FROM case_title_grams WHERE case_id = ?", fmt.Sprintf("c%d", i)).Scan(&got)
			want := sqlstore.TitleGrams(title)
			if want == "" {
				if err != sql.ErrNoRows {
					t.Errorf("%s: %q (too short) indexed as %q, %v", when, title, got, err)
				}
				continue
			}
			if err != nil || got != want {
				t.Errorf("%s: %q indexed as %q, %v; want %q", when, title, got, err, want)
			}
		}
	}
	check("written by the store")
	mig, err := os.ReadFile("migrations/00046_case_search_tracker.sql")
	if err != nil {
		t.Fatal(err)
	}
	stmt := string(mig)
	stmt = stmt[strings.Index(stmt, "INSERT INTO case_title_grams"):]
	stmt = stmt[:strings.Index(stmt, ";\n")]
	if _, err := db.Writer().ExecContext(ctx, "DELETE FROM case_title_grams"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Writer().ExecContext(ctx, stmt); err != nil {
		t.Fatalf("backfill: %v", err)
	}
	check("backfilled")
}

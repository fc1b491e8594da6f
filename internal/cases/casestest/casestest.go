// Package casestest is the behavioural conformance suite for cases.Store.
// Every storage backend runs it from its own tests:
//
//	func TestCasesConformance(t *testing.T) {
//		casestest.Run(t, func(t *testing.T) cases.Store { … })
//	}
//
// The suite checks what the service can observe: changes that commit or
// roll back as a whole, optimistic versions, linked alerts, the list's
// filters, sorts, paging and tenant scope, tasks, notes, observables,
// evidence content, the timeline, the tracker, the timer sums behind
// MTTA/MTTR, templates and SLA targets.
package casestest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Run runs every conformance test as a subtest of t. open must return a new,
// empty store for each call and arrange its closing with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) cases.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cases.Store)
	}{
		{"CreateAndGet", testCreateAndGet},
		{"VersionConflict", testVersionConflict},
		{"ChangeIsAtomic", testChangeIsAtomic},
		{"LinkAlerts", testLinkAlerts},
		{"ListFiltersSortsPages", testList},
		{"Breached", testBreached},
		{"BreachFollowsChanges", testBreachFollowsChanges},
		{"TasksNotesObservables", testParts},
		{"Evidence", testEvidence},
		{"Timeline", testTimeline},
		{"Tracker", testTracker},
		{"TrackerFollowsChanges", testTrackerFollowsChanges},
		{"TitleSearch", testTitleSearch},
		{"ManyMatches", testManyMatches},
		{"CaseTimes", testCaseTimes},
		{"Templates", testTemplates},
		{"SLA", testSLA},
		{"NotFound", testNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func audit(tenant, action, id string) tansa.AuditEntry {
	return tansa.AuditEntry{Time: t0, TenantID: tenant, Actor: "user:test", Action: action, ObjectType: "case", ObjectID: id}
}

func newCase(tenant, title, severity string, created time.Time) cases.Case {
	return cases.Case{ID: uuid.NewString(), TenantID: tenant, Title: title, Severity: severity, Phase: cases.PhaseNew,
		Creator: "user:test", Created: created, Updated: created, Version: 1, AlertIDs: []string{}}
}

func create(t *testing.T, s cases.Store, c cases.Case, extra ...func(*cases.Change)) cases.Case {
	t.Helper()
	ch := cases.Change{Case: &c, Create: true, Alerts: c.AlertIDs, Audit: []tansa.AuditEntry{audit(c.TenantID, "case.create", c.ID)}}
	for _, f := range extra {
		f(&ch)
	}
	if err := s.ApplyCase(context.Background(), ch); err != nil {
		t.Fatalf("create case %q: %v", c.Title, err)
	}
	return c
}

func get(t *testing.T, s cases.Store, id string) cases.Case {
	t.Helper()
	c, err := s.Case(context.Background(), id)
	if err != nil {
		t.Fatalf("Case(%s): %v", id, err)
	}
	return c
}

func same(a, b time.Time) bool { return a.Equal(b) }

func testCreateAndGet(t *testing.T, s cases.Store) {
	c := newCase("t1", "Emotet on PC-0042", "high", t0)
	c.Description = "説明: 感染の疑い"
	c.Type, c.Assignee, c.AssigneeName = "malware", "u1", "Aoki"
	c.AckDue, c.ContainDue, c.CloseDue = t0.Add(time.Hour), t0.Add(24*time.Hour), t0.Add(7*24*time.Hour)
	c.AlertIDs = []string{"a1", "a2"}
	create(t, s, c)
	got := get(t, s, c.ID)
	if got.Title != c.Title || got.Description != c.Description || got.Severity != "high" || got.Phase != cases.PhaseNew ||
		got.Type != "malware" || got.Assignee != "u1" || got.AssigneeName != "Aoki" || got.Version != 1 || got.Creator != "user:test" {
		t.Errorf("got %+v, want %+v", got, c)
	}
	if !same(got.Created, t0) || !same(got.AckDue, c.AckDue) || !same(got.ContainDue, c.ContainDue) || !same(got.CloseDue, c.CloseDue) || !got.Acknowledged.IsZero() {
		t.Errorf("times: got created %v ack due %v contain due %v close due %v ack %v", got.Created, got.AckDue, got.ContainDue, got.CloseDue, got.Acknowledged)
	}
	if !slices.Equal(got.AlertIDs, []string{"a1", "a2"}) {
		t.Errorf("alerts %v, want [a1 a2]", got.AlertIDs)
	}
}

func testVersionConflict(t *testing.T, s cases.Store) {
	ctx := context.Background()
	c := create(t, s, newCase("t1", "one", "low", t0))
	upd := c
	upd.Phase, upd.Version, upd.Updated, upd.Acknowledged = cases.PhaseTriage, 2, t0.Add(time.Minute), t0.Add(time.Minute)
	if err := s.ApplyCase(ctx, cases.Change{Case: &upd}); err != nil {
		t.Fatalf("update: %v", err)
	}
	stale := c
	stale.Title, stale.Version = "stale", 2
	if err := s.ApplyCase(ctx, cases.Change{Case: &stale, Audit: []tansa.AuditEntry{audit("t1", "case.update", c.ID)}}); tansa.KindOf(err) != tansa.Conflict {
		t.Fatalf("update from a stale version: %v, want a Conflict", err)
	}
	got := get(t, s, c.ID)
	if got.Title != "one" || got.Phase != cases.PhaseTriage || got.Version != 2 || !same(got.Acknowledged, t0.Add(time.Minute)) {
		t.Errorf("after conflict: %+v", got)
	}
}

func testChangeIsAtomic(t *testing.T, s cases.Store) {
	ctx := context.Background()
	c := create(t, s, newCase("t1", "one", "low", t0))
	o := cases.Observable{ID: uuid.NewString(), CaseID: c.ID, TenantID: "t1", Type: "ipv4", Value: "203.0.113.9", Creator: "user:test", Created: t0}
	if err := s.ApplyCase(ctx, cases.Change{Touch: c.ID, TouchAt: t0.Add(time.Second), Observables: []cases.Observable{o}}); err != nil {
		t.Fatal(err)
	}
	// A second observable with the same value fails, and takes the note,
	// the task and the timeline entry of its change with it.
	dup := o
	dup.ID = uuid.NewString()
	n := cases.Note{ID: uuid.NewString(), CaseID: c.ID, TenantID: "t1", Author: "user:test", Body: "lost", Created: t0}
	task := cases.Task{ID: uuid.NewString(), CaseID: c.ID, TenantID: "t1", Position: 1, Title: "lost", Status: cases.TaskOpen, Created: t0, Updated: t0}
	err := s.ApplyCase(ctx, cases.Change{Touch: c.ID, TouchAt: t0.Add(2 * time.Second), Notes: []cases.Note{n}, Tasks: []cases.Task{task},
		Observables: []cases.Observable{dup}, Timeline: []cases.Entry{{CaseID: c.ID, TenantID: "t1", Time: t0, Actor: "user:test", Kind: "note.add", Text: "lost"}}})
	if tansa.KindOf(err) != tansa.Conflict {
		t.Fatalf("duplicate observable: %v, want a Conflict", err)
	}
	notes, _ := s.Notes(ctx, c.ID)
	tasks, _ := s.Tasks(ctx, c.ID)
	_, tl, _ := s.Timeline(ctx, c.ID, "", access.Page{})
	if len(notes) != 0 || len(tasks) != 0 || tl != 0 {
		t.Errorf("a failed change left %d notes, %d tasks, %d timeline entries", len(notes), len(tasks), tl)
	}
	if got := get(t, s, c.ID); !same(got.Updated, t0.Add(time.Second)) {
		t.Errorf("a failed change moved updated to %v", got.Updated)
	}
	// Creating a case whose ID exists fails as a whole too.
	again := c
	if err := s.ApplyCase(ctx, cases.Change{Case: &again, Create: true, Notes: []cases.Note{n}}); tansa.KindOf(err) != tansa.Conflict {
		t.Fatalf("create with an existing ID: %v, want a Conflict", err)
	}
	if notes, _ := s.Notes(ctx, c.ID); len(notes) != 0 {
		t.Errorf("a failed create left %d notes", len(notes))
	}
}

func testLinkAlerts(t *testing.T, s cases.Store) {
	ctx := context.Background()
	c := newCase("t1", "one", "low", t0)
	c.AlertIDs = []string{"a1"}
	create(t, s, c)
	if err := s.ApplyCase(ctx, cases.Change{Touch: c.ID, TouchAt: t0.Add(time.Minute), Alerts: []string{"a3", "a1", "a2"}}); err != nil {
		t.Fatal(err)
	}
	got := get(t, s, c.ID)
	if !slices.Equal(got.AlertIDs, []string{"a1", "a3", "a2"}) {
		t.Errorf("alerts %v, want [a1 a3 a2] (link order, no duplicates)", got.AlertIDs)
	}
	if !same(got.Updated, t0.Add(time.Minute)) || got.Version != 1 {
		t.Errorf("touch: updated %v version %d, want %v and 1", got.Updated, got.Version, t0.Add(time.Minute))
	}
	l, n, err := s.Cases(ctx, cases.Query{Scope: access.Scope{All: true}, AlertID: "a3", Page: access.Page{Limit: 10}})
	if err != nil || n != 1 || l[0].ID != c.ID || len(l[0].AlertIDs) != 3 {
		t.Errorf("cases of alert a3: %d %v %v", n, l, err)
	}
}

func titles(cs []cases.Case) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Title)
	}
	return out
}

func testList(t *testing.T, s cases.Store) {
	ctx := context.Background()
	sev := []string{"low", "medium", "high", "critical"}
	for i := range 12 {
		tenant := "t1"
		if i%3 == 2 {
			tenant = "t2"
		}
		c := newCase(tenant, fmt.Sprintf("Case %02d", i), sev[i%4], t0.Add(time.Duration(i)*time.Hour))
		c.Updated = t0.Add(time.Duration(24-i) * time.Hour)
		if i%4 == 0 {
			c.Phase = cases.PhaseClosed
			c.Resolution = cases.FalsePositive
			c.Closed = c.Updated
		}
		if i == 5 {
			c.Title = "Phishing 経理部 wave"
			c.Assignee = "u5"
			c.Type = "phishing"
		}
		create(t, s, c)
	}
	q := func(q cases.Query) ([]string, int) {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 100
		}
		l, n, err := s.Cases(ctx, q)
		if err != nil {
			t.Fatalf("Cases(%+v): %v", q, err)
		}
		return titles(l), n
	}
	t1 := access.Scope{Tenants: []string{"t1"}}
	if _, n := q(cases.Query{Scope: t1}); n != 8 {
		t.Errorf("t1 has %d cases, want 8", n)
	}
	if _, n := q(cases.Query{Scope: access.Scope{}}); n != 0 {
		t.Errorf("the empty scope shows %d cases", n)
	}
	if _, n := q(cases.Query{Scope: access.Scope{All: true}}); n != 12 {
		t.Errorf("all tenants: %d cases, want 12", n)
	}
	if got, n := q(cases.Query{Scope: t1, State: "open"}); n != 6 || slices.Contains(got, "Case 00") {
		t.Errorf("open in t1: %d %v", n, got)
	}
	if _, n := q(cases.Query{Scope: t1, State: "closed"}); n != 2 {
		t.Errorf("closed in t1: %d, want 2", n)
	}
	if got, n := q(cases.Query{Scope: t1, Severity: "high"}); n != 2 || !slices.Equal(got, []string{"Case 06", "Case 10"}) {
		t.Errorf("high in t1: %d %v, want [Case 06 Case 10] (most recently updated first)", n, got)
	}
	if got, n := q(cases.Query{Scope: t1, Text: "経理"}); n != 0 || len(got) != 0 {
		t.Errorf("t1 text 経理: %v (case 05 is in t2)", got)
	}
	if got, _ := q(cases.Query{Scope: access.Scope{All: true}, Text: "PHISHING"}); !slices.Equal(got, []string{"Phishing 経理部 wave"}) {
		t.Errorf("text PHISHING: %v", got)
	}
	if got, _ := q(cases.Query{Scope: access.Scope{All: true}, Assignee: "u5", Type: "phishing"}); len(got) != 1 {
		t.Errorf("assignee u5 type phishing: %v", got)
	}
	if _, n := q(cases.Query{Scope: t1, Assignee: "none"}); n != 8 {
		t.Errorf("unassigned in t1: %d, want 8", n)
	}
	if got, _ := q(cases.Query{Scope: t1, Phase: cases.PhaseClosed, Sort: "created"}); !slices.Equal(got, []string{"Case 00", "Case 04"}) {
		t.Errorf("closed by created: %v", got)
	}
	if got, _ := q(cases.Query{Scope: t1, Sort: "-severity", Page: access.Page{Limit: 3}}); !slices.Equal(got, []string{"Case 03", "Case 07", "Case 06"}) {
		t.Errorf("by severity: %v, want the two critical then the most recent high", got)
	}
	if got, _ := q(cases.Query{Scope: t1, Sort: "-title", Page: access.Page{Limit: 2, Offset: 1}}); !slices.Equal(got, []string{"Case 09", "Case 07"}) {
		t.Errorf("by title descending, second page of two: %v", got)
	}
	l, n, err := s.Cases(ctx, cases.Query{Scope: t1, Page: access.Page{Limit: 0}})
	if err != nil || n != 8 || len(l) != 0 {
		t.Errorf("limit 0: %d items, total %d, %v", len(l), n, err)
	}
	if got, _ := q(cases.Query{Scope: t1, Page: access.Page{Limit: 5, Offset: 6}}); len(got) != 2 {
		t.Errorf("last page: %v", got)
	}
}

func testBreached(t *testing.T, s cases.Store) {
	ctx := context.Background()
	mk := func(title string, f func(*cases.Case)) {
		c := newCase("t1", title, "high", t0)
		c.AckDue, c.ContainDue, c.CloseDue = t0.Add(time.Hour), t0.Add(4*time.Hour), t0.Add(24*time.Hour)
		f(&c)
		create(t, s, c)
	}
	mk("acked in time", func(c *cases.Case) { c.Acknowledged = t0.Add(30 * time.Minute); c.Phase = cases.PhaseTriage })
	mk("acked late", func(c *cases.Case) { c.Acknowledged = t0.Add(2 * time.Hour); c.Phase = cases.PhaseTriage })
	mk("never acked", func(c *cases.Case) {})
	mk("closed in time", func(c *cases.Case) {
		c.Acknowledged, c.Closed, c.Phase, c.Resolution = t0.Add(10*time.Minute), t0.Add(20*time.Minute), cases.PhaseClosed, cases.Benign
	})
	mk("no targets", func(c *cases.Case) { c.AckDue, c.ContainDue, c.CloseDue = time.Time{}, time.Time{}, time.Time{} })
	at := func(d time.Duration) []string {
		l, _, err := s.Cases(ctx, cases.Query{Scope: access.Scope{All: true}, BreachedAt: t0.Add(d), Sort: "title", Page: access.Page{Limit: 50}})
		if err != nil {
			t.Fatal(err)
		}
		return titles(l)
	}
	if got := at(50 * time.Minute); !slices.Equal(got, []string{"acked late"}) {
		t.Errorf("breached after 50 min: %v, want only the case acknowledged (later) past its target", got)
	}
	if got := at(90 * time.Minute); !slices.Equal(got, []string{"acked late", "never acked"}) {
		t.Errorf("breached after 90 min: %v", got)
	}
	if got := at(5 * time.Hour); !slices.Equal(got, []string{"acked in time", "acked late", "never acked"}) {
		t.Errorf("breached after 5 h (contain target passed): %v", got)
	}
	for _, c := range mustList(t, s) {
		if want := slices.Contains(at(5*time.Hour), c.Title); c.Breached(t0.Add(5*time.Hour)) != want {
			t.Errorf("%s: Case.Breached says %v, the store %v", c.Title, !want, want)
		}
	}
}

// testBreachFollowsChanges walks one case through acknowledge, contain,
// close, reopen and a severity change, and checks after each write that
// the breached filter shows it exactly when Case.Breached does: the store
// keeps what the filter reads in step with every change of a deadline or
// a timer.
func testBreachFollowsChanges(t *testing.T, s cases.Store) {
	ctx := context.Background()
	c := newCase("t1", "walked", "high", t0)
	c.AckDue, c.ContainDue, c.CloseDue = t0.Add(time.Hour), t0.Add(4*time.Hour), t0.Add(24*time.Hour)
	c = create(t, s, c)
	other := newCase("t2", "never breaches", "low", t0)
	create(t, s, other)
	listed := func(at time.Duration, scope access.Scope, state string) bool {
		t.Helper()
		l, n, err := s.Cases(ctx, cases.Query{Scope: scope, State: state, BreachedAt: t0.Add(at), Page: access.Page{Limit: 50}})
		if err != nil {
			t.Fatal(err)
		}
		if n != len(l) {
			t.Errorf("total %d for %d listed", n, len(l))
		}
		for _, x := range l {
			if x.ID != c.ID {
				t.Errorf("breached at +%v: %q listed", at, x.Title)
			}
		}
		return len(l) == 1
	}
	step := func(what string, f func(*cases.Case), want map[time.Duration]bool) {
		t.Helper()
		if f != nil {
			upd := c
			f(&upd)
			upd.Version++
			if err := s.ApplyCase(ctx, cases.Change{Case: &upd}); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			c = get(t, s, c.ID)
		}
		for at, w := range want {
			if c.Breached(t0.Add(at)) != w {
				t.Fatalf("%s: Case.Breached(+%v) = %v; the test expects %v", what, at, !w, w)
			}
			for _, sc := range []access.Scope{{All: true}, {Tenants: []string{"t1"}}} {
				for _, state := range []string{"", "open"} {
					if state == "open" && !c.Open() {
						continue
					}
					if got := listed(at, sc, state); got != w {
						t.Errorf("%s: breached at +%v (scope %+v, state %q): listed %v, want %v", what, at, sc, state, got, w)
					}
				}
			}
			if got := listed(at, access.Scope{Tenants: []string{"t2"}}, ""); got {
				t.Errorf("%s: listed in another tenant", what)
			}
		}
	}
	step("created", nil, map[time.Duration]bool{30 * time.Minute: false, 2 * time.Hour: true})
	step("acknowledged in time", func(u *cases.Case) { u.Phase, u.Acknowledged = cases.PhaseTriage, t0.Add(10*time.Minute) },
		map[time.Duration]bool{2 * time.Hour: false, 5 * time.Hour: true})
	step("contained in time", func(u *cases.Case) { u.Phase, u.Contained = cases.PhaseContainment, t0.Add(3*time.Hour) },
		map[time.Duration]bool{5 * time.Hour: false, 25 * time.Hour: true})
	step("closed in time", func(u *cases.Case) {
		u.Phase, u.Resolution, u.Closed = cases.PhaseClosed, cases.TruePositive, t0.Add(20*time.Hour)
	}, map[time.Duration]bool{25 * time.Hour: false, 100 * time.Hour: false})
	step("reopened", func(u *cases.Case) {
		u.Phase, u.Resolution, u.Closed, u.Reopened = cases.PhaseEradication, "", time.Time{}, 1
	},
		map[time.Duration]bool{23 * time.Hour: false, 25 * time.Hour: true})
	step("severity lowered, later deadline", func(u *cases.Case) { u.Severity, u.CloseDue = "low", t0.Add(30*24*time.Hour) },
		map[time.Duration]bool{25 * time.Hour: false, 31 * 24 * time.Hour: true})
	step("closed late", func(u *cases.Case) {
		u.Phase, u.Resolution, u.Closed = cases.PhaseClosed, cases.Benign, t0.Add(31*24*time.Hour)
	}, map[time.Duration]bool{25 * time.Hour: true, 40 * 24 * time.Hour: true})
	step("contain timer stopped late", func(u *cases.Case) {
		u.Phase, u.Resolution, u.Closed, u.CloseDue, u.Contained = cases.PhaseRecovery, "", time.Time{}, time.Time{}, t0.Add(5*time.Hour)
	}, map[time.Duration]bool{30 * time.Minute: true, 40 * 24 * time.Hour: true})
	step("no targets", func(u *cases.Case) { u.AckDue, u.ContainDue, u.CloseDue = time.Time{}, time.Time{}, time.Time{} },
		map[time.Duration]bool{30 * time.Minute: false, 400 * 24 * time.Hour: false})
}

// testTitleSearch checks the title filter: a substring of the title in
// any case, Japanese and ASCII, of one, two and more characters, with
// LIKE's special characters taken literally, and a renamed case found by
// its new title only.
func testTitleSearch(t *testing.T, s cases.Store) {
	ctx := context.Background()
	all := access.Scope{All: true}
	for i, title := range []string{"Phishing wave to 経理部 (PC-00001)", "経理 invoice fraud", "人事部 account takeover", "Emotet beacon from PC-00042",
		"100% CPU on srv_01", "Quote \"x\" in title", "Ünïcode CAFÉ", "a"} {
		c := newCase("t1", title, "low", t0.Add(time.Duration(i)*time.Minute))
		c.Updated = c.Created
		create(t, s, c)
	}
	search := func(text string) []string {
		t.Helper()
		l, n, err := s.Cases(ctx, cases.Query{Scope: all, Text: text, Sort: "title", Page: access.Page{Limit: 50}})
		if err != nil {
			t.Fatalf("Text %q: %v", text, err)
		}
		if n != len(l) {
			t.Errorf("Text %q: total %d for %d listed", text, n, len(l))
		}
		got := titles(l)
		if got == nil {
			got = []string{}
		}
		// Byte order: PostgreSQL's title order follows its collation.
		slices.Sort(got)
		return got
	}
	for text, want := range map[string][]string{
		"経理":         {"Phishing wave to 経理部 (PC-00001)", "経理 invoice fraud"},
		"経理部":        {"Phishing wave to 経理部 (PC-00001)"},
		"経":          {"Phishing wave to 経理部 (PC-00001)", "経理 invoice fraud"},
		"部":          {"Phishing wave to 経理部 (PC-00001)", "人事部 account takeover"},
		"理 inv":      {"経理 invoice fraud"},
		"PHISHING":   {"Phishing wave to 経理部 (PC-00001)"},
		"pHiShInG w": {"Phishing wave to 経理部 (PC-00001)"},
		"pc-000":     {"Emotet beacon from PC-00042", "Phishing wave to 経理部 (PC-00001)"},
		"E":          {"Emotet beacon from PC-00042", "Phishing wave to 経理部 (PC-00001)", "Quote \"x\" in title", "Ünïcode CAFÉ", "人事部 account takeover", "経理 invoice fraud"},
		"100%":       {"100% CPU on srv_01"},
		"0%":         {"100% CPU on srv_01"},
		"v_0":        {"100% CPU on srv_01"},
		"%":          {"100% CPU on srv_01"},
		"_":          {"100% CPU on srv_01"},
		`"x"`:        {"Quote \"x\" in title"},
		"café":       {"Ünïcode CAFÉ"},
		"ÜNÏ":        {"Ünïcode CAFÉ"},
		"a":          {"Emotet beacon from PC-00042", "Phishing wave to 経理部 (PC-00001)", "Ünïcode CAFÉ", "a", "人事部 account takeover", "経理 invoice fraud"},
		"経理部 (pc":    {"Phishing wave to 経理部 (PC-00001)"},
		"理部x":        {},
		"nothing":    {},
	} {
		slices.Sort(want)
		if got := search(text); !slices.Equal(got, want) {
			t.Errorf("Text %q: %q, want %q", text, got, want)
		}
	}
	l, _, err := s.Cases(ctx, cases.Query{Scope: all, Text: "人事", Page: access.Page{Limit: 1}})
	if err != nil || len(l) != 1 {
		t.Fatalf("人事: %v %v", l, err)
	}
	upd := l[0]
	upd.Title, upd.Version = "総務 account takeover", upd.Version+1
	if err := s.ApplyCase(ctx, cases.Change{Case: &upd}); err != nil {
		t.Fatal(err)
	}
	if got := search("人事"); len(got) != 0 {
		t.Errorf("renamed case still found by its old title: %q", got)
	}
	if got := search("総務"); !slices.Equal(got, []string{"総務 account takeover"}) {
		t.Errorf("renamed case by its new title: %q", got)
	}
	if got := search("account"); !slices.Equal(got, []string{"総務 account takeover"}) {
		t.Errorf("renamed case by an unchanged word: %q", got)
	}
	if l, _, err := s.Cases(ctx, cases.Query{Scope: access.Scope{Tenants: []string{"t2"}}, Text: "経理", Page: access.Page{Limit: 5}}); err != nil || len(l) != 0 {
		t.Errorf("another tenant's search: %v %v", titles(l), err)
	}
}

// testTrackerFollowsChanges checks that the tracker follows changes of a
// case made after its tasks were written: closing it removes its tasks,
// reopening brings them back, a new severity moves them between severity
// filters and in the order, and finishing a task removes it.
func testTrackerFollowsChanges(t *testing.T, s cases.Store) {
	ctx := context.Background()
	c := create(t, s, newCase("t1", "moving", "low", t0))
	other := create(t, s, newCase("t1", "steady", "medium", t0))
	mk := func(cs cases.Case, title string, due time.Duration) cases.Task {
		return cases.Task{ID: uuid.NewString(), CaseID: cs.ID, TenantID: "t1", Title: title, Status: cases.TaskOpen, Due: t0.Add(due), Created: t0, Updated: t0}
	}
	mine, theirs := mk(c, "mine", time.Hour), mk(other, "theirs", time.Hour)
	if err := s.ApplyCase(ctx, cases.Change{Tasks: []cases.Task{mine, theirs}}); err != nil {
		t.Fatal(err)
	}
	tasks := func(q cases.TrackerQuery) []string {
		t.Helper()
		q.Scope, q.Kind, q.Limit = access.Scope{Tenants: []string{"t1"}}, "task", 50
		l, n, err := s.Tracker(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(l) {
			t.Errorf("total %d for %d rows", n, len(l))
		}
		out := []string{}
		for _, r := range l {
			out = append(out, r.Title+"/"+r.Severity)
		}
		return out
	}
	change := func(f func(*cases.Case)) {
		t.Helper()
		upd := get(t, s, c.ID)
		f(&upd)
		upd.Version++
		if err := s.ApplyCase(ctx, cases.Change{Case: &upd}); err != nil {
			t.Fatal(err)
		}
	}
	if got := tasks(cases.TrackerQuery{}); !slices.Equal(got, []string{"theirs/medium", "mine/low"}) {
		t.Errorf("at first: %v (same due time: medium before low)", got)
	}
	change(func(u *cases.Case) { u.Severity = "critical" })
	if got := tasks(cases.TrackerQuery{}); !slices.Equal(got, []string{"mine/critical", "theirs/medium"}) {
		t.Errorf("after raising the severity: %v", got)
	}
	if got := tasks(cases.TrackerQuery{Severity: "critical"}); !slices.Equal(got, []string{"mine/critical"}) {
		t.Errorf("critical: %v", got)
	}
	if got := tasks(cases.TrackerQuery{Severity: "low"}); len(got) != 0 {
		t.Errorf("low after raising: %v", got)
	}
	change(func(u *cases.Case) {
		u.Phase, u.Resolution, u.Closed = cases.PhaseClosed, cases.Duplicate, t0.Add(time.Hour)
	})
	if got := tasks(cases.TrackerQuery{}); !slices.Equal(got, []string{"theirs/medium"}) {
		t.Errorf("after closing the case: %v", got)
	}
	change(func(u *cases.Case) { u.Phase, u.Resolution, u.Closed = cases.PhaseTriage, "", time.Time{} })
	if got := tasks(cases.TrackerQuery{}); !slices.Equal(got, []string{"mine/critical", "theirs/medium"}) {
		t.Errorf("after reopening: %v", got)
	}
	mine.Status, mine.Updated = cases.TaskDone, t0.Add(2*time.Hour)
	later := mk(c, "later", 0)
	if err := s.ApplyCase(ctx, cases.Change{Touch: c.ID, TouchAt: t0.Add(2 * time.Hour), Tasks: []cases.Task{mine, later}}); err != nil {
		t.Fatal(err)
	}
	later.Due = time.Time{}
	if err := s.ApplyCase(ctx, cases.Change{Tasks: []cases.Task{later}}); err != nil {
		t.Fatal(err)
	}
	if got := tasks(cases.TrackerQuery{}); !slices.Equal(got, []string{"theirs/medium", "later/critical"}) {
		t.Errorf("after finishing one task and adding one without a due time: %v", got)
	}
	if err := s.ApplyCase(ctx, cases.Change{Tasks: []cases.Task{{ID: uuid.NewString(), CaseID: "no-such-case", TenantID: "t1", Title: "orphan",
		Status: cases.TaskOpen, Created: t0, Updated: t0}}}); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("task of a missing case: %v, want NotFound", err)
	}
}

// testManyMatches checks the title and breached filters when more than a
// thousand cases match, where a store may plan the page differently from
// the count (SQLite walks the order's index): the totals, the first and a
// deep page, in order, with other cases around them.
func testManyMatches(t *testing.T, s cases.Store) {
	ctx := context.Background()
	const n = 1100
	var want []string // matching cases, most recently updated first
	for i := range n + 300 {
		c := newCase("t1", fmt.Sprintf("経理 %04d", i), "high", t0)
		c.AckDue = t0.Add(time.Hour)
		if i%5 == 4 && len(want)+(n+300-i) > n {
			// Neither: acknowledged in time and titled otherwise.
			c.Title, c.Acknowledged, c.Phase = fmt.Sprintf("other %04d", i), t0.Add(time.Minute), cases.PhaseTriage
		}
		c.Updated = t0.Add(time.Duration(i*7%(n+300)) * time.Minute)
		create(t, s, c)
	}
	all := mustAll(t, s)
	slices.SortFunc(all, func(a, b cases.Case) int {
		if c := b.Updated.Compare(a.Updated); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	for _, c := range all {
		if strings.HasPrefix(c.Title, "経理") {
			want = append(want, c.Title)
		}
	}
	if len(want) < 1000 {
		t.Fatalf("only %d matching cases made", len(want))
	}
	for _, q := range []cases.Query{{Text: "経理"}, {BreachedAt: t0.Add(2 * time.Hour), State: "open"}, {Text: "経理", BreachedAt: t0.Add(2 * time.Hour)}} {
		for _, sc := range []access.Scope{{All: true}, {Tenants: []string{"t1"}}} {
			for _, off := range []int{0, 1000} {
				q.Scope, q.Page = sc, access.Page{Limit: 50, Offset: off}
				l, total, err := s.Cases(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if total != len(want) || !slices.Equal(titles(l), want[off:min(off+50, len(want))]) {
					t.Errorf("%+v: total %d, page %v; want %d, %v", q, total, titles(l), len(want), want[off:min(off+50, len(want))])
				}
			}
		}
	}
}

// mustAll returns every case of the store.
func mustAll(t *testing.T, s cases.Store) []cases.Case {
	t.Helper()
	var out []cases.Case
	for off := 0; ; off += 500 {
		l, _, err := s.Cases(context.Background(), cases.Query{Scope: access.Scope{All: true}, Page: access.Page{Limit: 500, Offset: off}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l...)
		if len(l) < 500 {
			return out
		}
	}
}

func mustList(t *testing.T, s cases.Store) []cases.Case {
	t.Helper()
	l, _, err := s.Cases(context.Background(), cases.Query{Scope: access.Scope{All: true}, Page: access.Page{Limit: 500}})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func testParts(t *testing.T, s cases.Store) {
	ctx := context.Background()
	c := create(t, s, newCase("t1", "one", "low", t0))
	other := create(t, s, newCase("t1", "two", "low", t0))
	tasks := []cases.Task{
		{ID: uuid.NewString(), CaseID: c.ID, TenantID: "t1", Position: 2, Phase: cases.PhaseContainment, Title: "isolate", Status: cases.TaskOpen, Due: t0.Add(4 * time.Hour), Created: t0, Updated: t0},
		{ID: uuid.NewString(), CaseID: c.ID, TenantID: "t1", Position: 1, Phase: cases.PhaseTriage, Title: "identify", Status: cases.TaskOpen, Created: t0, Updated: t0},
	}
	if err := s.ApplyCase(ctx, cases.Change{Touch: c.ID, TouchAt: t0, Tasks: tasks}); err != nil {
		t.Fatal(err)
	}
	done := tasks[0]
	done.Status, done.Completed, done.Owner, done.OwnerName, done.Updated = cases.TaskDone, t0.Add(time.Hour), "u1", "Aoki", t0.Add(time.Hour)
	if err := s.ApplyCase(ctx, cases.Change{Touch: c.ID, TouchAt: t0.Add(time.Hour), Tasks: []cases.Task{done}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Tasks(ctx, c.ID)
	if err != nil || len(got) != 2 || got[0].Title != "identify" || got[1].Status != cases.TaskDone || got[1].OwnerName != "Aoki" ||
		!same(got[1].Completed, t0.Add(time.Hour)) || !same(got[1].Due, t0.Add(4*time.Hour)) || got[1].Phase != cases.PhaseContainment {
		t.Errorf("tasks: %+v %v", got, err)
	}
	one, err := s.Task(ctx, tasks[1].ID)
	if err != nil || one.CaseID != c.ID || one.Title != "identify" {
		t.Errorf("Task: %+v %v", one, err)
	}
	if l, _ := s.Tasks(ctx, other.ID); len(l) != 0 {
		t.Errorf("the other case has tasks %v", l)
	}
	notes := []cases.Note{{ID: uuid.NewString(), CaseID: c.ID, TenantID: "t1", Author: "user:a", Body: "一つ目", Created: t0},
		{ID: uuid.NewString(), CaseID: c.ID, TenantID: "t1", Author: "system:playbook", Body: "second", Created: t0.Add(time.Second)}}
	obs := []cases.Observable{{ID: uuid.NewString(), CaseID: c.ID, TenantID: "t1", Type: "domain", Value: "evil.example", Creator: "user:a", Created: t0},
		{ID: uuid.NewString(), CaseID: other.ID, TenantID: "t1", Type: "domain", Value: "evil.example", Creator: "user:a", Created: t0}}
	if err := s.ApplyCase(ctx, cases.Change{Notes: notes, Observables: obs}); err != nil {
		t.Fatalf("the same value on two cases: %v", err)
	}
	ns, err := s.Notes(ctx, c.ID)
	if err != nil || len(ns) != 2 || ns[0].Body != "一つ目" || ns[1].Author != "system:playbook" {
		t.Errorf("notes: %+v %v", ns, err)
	}
	os, err := s.Observables(ctx, c.ID)
	if err != nil || len(os) != 1 || os[0].Value != "evil.example" {
		t.Errorf("observables: %+v %v", os, err)
	}
	o, err := s.Observable(ctx, obs[1].ID)
	if err != nil || o.CaseID != other.ID {
		t.Errorf("Observable: %+v %v", o, err)
	}
}

func testEvidence(t *testing.T, s cases.Store) {
	ctx := context.Background()
	c := create(t, s, newCase("t1", "one", "low", t0))
	content := bytes.Repeat([]byte{0, 1, 2, 0xff, '<', 'h'}, 100_000)
	e := cases.Evidence{ID: uuid.NewString(), CaseID: c.ID, TenantID: "t1", Name: "メール.eml", ContentType: "message/rfc822",
		Size: int64(len(content)), SHA256: "ab", Uploader: "user:a", Uploaded: t0}
	if err := s.ApplyCase(ctx, cases.Change{Touch: c.ID, TouchAt: t0, Evidence: &e, Content: content}); err != nil {
		t.Fatal(err)
	}
	l, err := s.EvidenceList(ctx, c.ID)
	if err != nil || len(l) != 1 || l[0].Name != "メール.eml" || l[0].Size != int64(len(content)) || !same(l[0].Uploaded, t0) {
		t.Errorf("list: %+v %v", l, err)
	}
	got, err := s.EvidenceContent(ctx, e.ID)
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("content: %d bytes, equal %v, %v", len(got), bytes.Equal(got, content), err)
	}
	one, err := s.Evidence(ctx, e.ID)
	if err != nil || one.ContentType != "message/rfc822" || one.Uploader != "user:a" {
		t.Errorf("Evidence: %+v %v", one, err)
	}
}

func testTimeline(t *testing.T, s cases.Store) {
	ctx := context.Background()
	c := create(t, s, newCase("t1", "one", "low", t0))
	var es []cases.Entry
	for i := range 7 {
		ref := ""
		if i%2 == 1 {
			ref = "ev1"
		}
		es = append(es, cases.Entry{CaseID: c.ID, TenantID: "t1", Time: t0.Add(time.Duration(i) * time.Second), Actor: "user:a", Addr: "192.0.2.1",
			Kind: "note.add", Ref: ref, Text: fmt.Sprintf("entry %d", i)})
	}
	if err := s.ApplyCase(ctx, cases.Change{Timeline: es[:3]}); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyCase(ctx, cases.Change{Timeline: es[3:]}); err != nil {
		t.Fatal(err)
	}
	got, n, err := s.Timeline(ctx, c.ID, "", access.Page{Limit: 3, Offset: 2})
	if err != nil || n != 7 || len(got) != 3 || got[0].Text != "entry 2" || got[2].Text != "entry 4" || got[0].Addr != "192.0.2.1" || !same(got[0].Time, t0.Add(2*time.Second)) {
		t.Errorf("timeline page: %d %+v %v", n, got, err)
	}
	if got[0].ID >= got[1].ID {
		t.Errorf("entry IDs not increasing: %d, %d", got[0].ID, got[1].ID)
	}
	ref, n, err := s.Timeline(ctx, c.ID, "ev1", access.Page{Limit: 10})
	if err != nil || n != 3 || ref[0].Text != "entry 1" {
		t.Errorf("entries of ev1: %d %+v %v", n, ref, err)
	}
}

func testTracker(t *testing.T, s cases.Store) {
	ctx := context.Background()
	a := newCase("t1", "Case A", "critical", t0)
	a.CloseDue, a.Assignee, a.AssigneeName = t0.Add(72*time.Hour), "u1", "Aoki"
	create(t, s, a)
	b := newCase("t1", "Case B 経理", "low", t0)
	b.Updated = t0.Add(time.Minute) // after its task "no due": among undated rows of one severity, the most recently updated first
	create(t, s, b)
	closed := newCase("t1", "Closed", "high", t0)
	closed.Phase, closed.Resolution = cases.PhaseClosed, cases.Benign
	create(t, s, closed)
	elsewhere := create(t, s, newCase("t2", "Elsewhere", "high", t0))
	task := func(c cases.Case, title string, st cases.TaskStatus, due time.Duration, owner string) cases.Task {
		tk := cases.Task{ID: uuid.NewString(), CaseID: c.ID, TenantID: c.TenantID, Title: title, Status: st, Owner: owner, OwnerName: owner, Created: t0, Updated: t0}
		if due != 0 {
			tk.Due = t0.Add(due)
		}
		return tk
	}
	ts := []cases.Task{task(a, "isolate", cases.TaskOpen, 4*time.Hour, "u2"), task(a, "done one", cases.TaskDone, time.Hour, ""),
		task(b, "read headers", cases.TaskInProgress, 2*time.Hour, ""), task(b, "no due", cases.TaskOpen, 0, ""),
		task(closed, "of a closed case", cases.TaskOpen, time.Hour, ""), task(elsewhere, "other tenant", cases.TaskOpen, time.Hour, "")}
	if err := s.ApplyCase(ctx, cases.Change{Tasks: ts}); err != nil {
		t.Fatal(err)
	}
	rows := func(q cases.TrackerQuery) ([]string, int) {
		t.Helper()
		q.Scope = access.Scope{Tenants: []string{"t1"}}
		q.Limit = 100
		l, n, err := s.Tracker(ctx, q)
		if err != nil {
			t.Fatalf("Tracker(%+v): %v", q, err)
		}
		var out []string
		for _, r := range l {
			out = append(out, r.Kind+":"+r.Title)
			if r.Kind == "task" && r.Title == "isolate" && (r.CaseTitle != "Case A" || r.Severity != "critical" || r.CaseID != a.ID) {
				t.Errorf("task row %+v lacks its case", r)
			}
		}
		return out, n
	}
	got, n := rows(cases.TrackerQuery{})
	want := []string{"task:read headers", "task:isolate", "case:Case A", "case:Case B 経理", "task:no due"}
	if n != 5 || !slices.Equal(got, want) {
		t.Errorf("tracker: %d %v, want %v (by due time, undated last: critical before low)", n, got, want)
	}
	if got, _ := rows(cases.TrackerQuery{Kind: "case"}); !slices.Equal(got, []string{"case:Case A", "case:Case B 経理"}) {
		t.Errorf("cases only: %v", got)
	}
	if got, _ := rows(cases.TrackerQuery{Owner: "u2"}); !slices.Equal(got, []string{"task:isolate"}) {
		t.Errorf("owner u2: %v", got)
	}
	if got, _ := rows(cases.TrackerQuery{Owner: "none", Kind: "task"}); !slices.Equal(got, []string{"task:read headers", "task:no due"}) {
		t.Errorf("no owner: %v", got)
	}
	if got, _ := rows(cases.TrackerQuery{OverdueAt: t0.Add(3 * time.Hour)}); !slices.Equal(got, []string{"task:read headers"}) {
		t.Errorf("overdue at +3h: %v", got)
	}
	if got, _ := rows(cases.TrackerQuery{Text: "経理"}); !slices.Equal(got, []string{"task:read headers", "case:Case B 経理", "task:no due"}) {
		t.Errorf("text 経理 (case title too): %v", got)
	}
	if got, _ := rows(cases.TrackerQuery{Status: "in-progress"}); !slices.Equal(got, []string{"task:read headers"}) {
		t.Errorf("status in-progress: %v", got)
	}
	if got, _ := rows(cases.TrackerQuery{Severity: "critical"}); len(got) != 2 {
		t.Errorf("severity critical: %v", got)
	}
	if _, n, _ := s.Tracker(ctx, cases.TrackerQuery{Scope: access.Scope{}}); n != 0 {
		t.Errorf("the empty scope shows %d rows", n)
	}
	// The export: every row Tracker pages through, in its order, whatever
	// the page asked.
	for _, q := range []cases.TrackerQuery{{}, {Kind: "task"}, {Kind: "case"}, {Text: "経理"}, {Owner: "none"}, {Severity: "critical"},
		{OverdueAt: t0.Add(3 * time.Hour)}, {Page: access.Page{Limit: 1, Offset: 3}}} {
		q.Scope = access.Scope{Tenants: []string{"t1"}}
		paged := q
		paged.Page = access.Page{Limit: 100}
		want, n, err := s.Tracker(ctx, paged)
		if err != nil {
			t.Fatal(err)
		}
		var got []cases.TrackerRow
		if err := s.EachTrackerRow(ctx, q, func(r cases.TrackerRow) error { got = append(got, r); return nil }); err != nil {
			t.Fatalf("EachTrackerRow(%+v): %v", q, err)
		}
		if len(got) != n || !reflect.DeepEqual(got, want) && len(want) > 0 {
			t.Errorf("EachTrackerRow(%+v): %d rows %+v, want the %d of Tracker %+v", q, len(got), got, n, want)
		}
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.EachTrackerRow(ctx, cases.TrackerQuery{Scope: access.Scope{All: true}}, func(cases.TrackerRow) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("EachTrackerRow after an error from fn: %v, %d calls", err, calls)
	}
}

func testCaseTimes(t *testing.T, s cases.Store) {
	ctx := context.Background()
	mk := func(tenant string, created time.Time, ack, cont, closed time.Duration) {
		c := newCase(tenant, "c", "high", created)
		c.AckDue = created.Add(time.Hour)
		if ack > 0 {
			c.Acknowledged = created.Add(ack)
		}
		if cont > 0 {
			c.Contained = created.Add(cont)
		}
		if closed > 0 {
			c.Closed, c.Phase, c.Resolution = created.Add(closed), cases.PhaseClosed, cases.TruePositive
		}
		create(t, s, c)
	}
	mk("t1", t0, 10*time.Minute, 2*time.Hour, 10*time.Hour)
	mk("t1", t0.Add(time.Hour), 30*time.Minute, 0, 0)
	mk("t1", t0.Add(2*time.Hour), 2*time.Hour, 0, 0) // acknowledged late
	mk("t1", t0.Add(3*time.Hour), 0, 0, 0)           // never acknowledged
	mk("t1", t0.AddDate(0, 1, 0), time.Minute, 0, 0) // outside the period
	mk("t2", t0, time.Minute, 0, 0)                  // another tenant
	tm, err := s.CaseTimes(ctx, cases.TimesQuery{Scope: access.Scope{Tenants: []string{"t1"}}, Since: t0, Until: t0.AddDate(0, 0, 7)})
	if err != nil {
		t.Fatal(err)
	}
	want := cases.Times{Cases: 4, Acknowledged: 3, AckTotal: 160 * time.Minute, Contained: 1, ContainTotal: 2 * time.Hour,
		Closed: 1, CloseTotal: 10 * time.Hour, Breached: 2}
	if tm != want {
		t.Errorf("times %+v, want %+v", tm, want)
	}
}

func testTemplates(t *testing.T, s cases.Store) {
	ctx := context.Background()
	tm := cases.Template{Type: "phishing", TenantID: "t1", Severity: "high", Name: cases.Text{EN: "Our phishing", JA: "当社のフィッシング"},
		Tasks: []cases.TaskTemplate{{Phase: cases.PhaseTriage, Title: cases.Text{EN: "Call the user", JA: "利用者に電話する"}, DueHours: 2}}}
	if err := s.PutCaseTemplate(ctx, tm, t0, audit("t1", "case-template.put", "phishing")); err != nil {
		t.Fatal(err)
	}
	tm.Name.EN = "Our phishing v2"
	if err := s.PutCaseTemplate(ctx, tm, t0, audit("t1", "case-template.put", "phishing")); err != nil {
		t.Fatal(err)
	}
	got, err := s.CaseTemplates(ctx, "t1")
	if err != nil || len(got) != 1 || got[0].Name.EN != "Our phishing v2" || got[0].TenantID != "t1" || got[0].Tasks[0].Title.JA != "利用者に電話する" || got[0].Tasks[0].DueHours != 2 {
		t.Errorf("templates of t1: %+v %v", got, err)
	}
	if l, _ := s.CaseTemplates(ctx, "t2"); len(l) != 0 {
		t.Errorf("t2 sees %v", l)
	}
	if err := s.DeleteCaseTemplate(ctx, "t2", "phishing", audit("t2", "case-template.delete", "phishing")); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("deleting t1's template as t2: %v, want NotFound", err)
	}
	if err := s.DeleteCaseTemplate(ctx, "t1", "phishing", audit("t1", "case-template.delete", "phishing")); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.CaseTemplates(ctx, "t1"); len(l) != 0 {
		t.Errorf("after delete: %v", l)
	}
}

func testSLA(t *testing.T, s cases.Store) {
	ctx := context.Background()
	if l, err := s.SLA(ctx, "t1"); err != nil || len(l) != 0 {
		t.Fatalf("no targets yet: %v %v", l, err)
	}
	ts := []cases.SLATarget{{Severity: "critical", Acknowledge: 10 * time.Minute, Contain: 2 * time.Hour, Close: 48 * time.Hour},
		{Severity: "low", Close: 30 * 24 * time.Hour}}
	if err := s.PutSLA(ctx, "t1", ts, audit("t1", "case-sla.update", "t1")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSLA(ctx, "t1", ts[:1], audit("t1", "case-sla.update", "t1")); err != nil {
		t.Fatal(err)
	}
	got, err := s.SLA(ctx, "t1")
	if err != nil || len(got) != 1 || got[0] != ts[0] {
		t.Errorf("targets: %+v %v, want %+v", got, err, ts[:1])
	}
	if l, _ := s.SLA(ctx, "t2"); len(l) != 0 {
		t.Errorf("t2: %v", l)
	}
}

func testNotFound(t *testing.T, s cases.Store) {
	ctx := context.Background()
	id := uuid.NewString()
	checks := map[string]error{}
	_, checks["Case"] = s.Case(ctx, id)
	_, checks["Task"] = s.Task(ctx, id)
	_, checks["Observable"] = s.Observable(ctx, id)
	_, checks["Evidence"] = s.Evidence(ctx, id)
	_, checks["EvidenceContent"] = s.EvidenceContent(ctx, id)
	for name, err := range checks {
		if tansa.KindOf(err) != tansa.NotFound {
			t.Errorf("%s of a missing ID: %v, want NotFound", name, err)
		}
	}
	stale := newCase("t1", "never stored", "low", t0)
	stale.Version = 2
	if err := s.ApplyCase(ctx, cases.Change{Case: &stale}); tansa.KindOf(err) != tansa.Conflict {
		t.Errorf("update of a missing case: %v, want a Conflict", err)
	}
}

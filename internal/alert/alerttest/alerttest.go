// Package alerttest is the behavioural conformance suite for alert.Store.
// Every storage backend runs it from its own tests:
//
//	func TestAlertConformance(t *testing.T) {
//		alerttest.Run(t, func(t *testing.T) alert.Store { … })
//	}
//
// The suite checks what the service can observe: deduplication within the
// window, bounded event IDs, filters, sorting and paging, triage that
// commits with its audit entries or not at all, and exceptions with their
// hit counts.
package alerttest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Run runs every conformance test as a subtest of t. open must return a new,
// empty store for each call and arrange its closing with t.Cleanup. When
// the store also implements access.Store, the audit entries are checked.
func Run(t *testing.T, open func(t *testing.T) alert.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s alert.Store)
	}{
		{"MergeDedupes", testMerge},
		{"MergeWindowAndClosed", testMergeWindow},
		{"FiltersSortPaging", testFilters},
		{"Triage", testTriage},
		{"TriageRollsBack", testTriageRollsBack},
		{"Exceptions", testExceptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

var opt = alert.MergeOptions{Window: time.Hour, MaxEvents: 3, Now: t0}

func mk(tenant, rule, group string, at time.Time, events ...string) tansa.Alert {
	if events == nil {
		events = []string{}
	}
	return tansa.Alert{ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenant, Kind: tansa.AlertSigma, RuleID: rule, RuleTitle: "Title of " + rule,
		Level: "high", Tags: []string{"attack.t1059"}, Host: "ws-" + group, User: "user-" + group, GroupKey: group, Count: 1,
		FirstSeen: at, LastSeen: at, EventIDs: events, Context: []byte(`{"fields":{"Image":"C:\\x.exe"}}`),
		Status: tansa.AlertNew, Created: t0, Updated: t0}
}

func merge(t *testing.T, s alert.Store, in ...tansa.Alert) []alert.Change {
	t.Helper()
	ch, err := s.Merge(context.Background(), in, opt)
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	return ch
}

func all(t *testing.T, s alert.Store, q alert.Query) ([]tansa.Alert, int) {
	t.Helper()
	if q.Scope.Tenants == nil && !q.Scope.All {
		q.Scope.All = true
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	got, total, err := s.Alerts(context.Background(), q)
	if err != nil {
		t.Fatalf("Alerts(%+v): %v", q, err)
	}
	return got, total
}

func testMerge(t *testing.T, s alert.Store) {
	ch := merge(t, s, mk("t1", "r1", "g1", t0, "e1"))
	if len(ch) != 1 || !ch[0].New {
		t.Fatalf("first match: changes %+v, want one new alert", ch)
	}
	id := ch[0].Alert.ID
	// The same key twice more in one call, one new group, events beyond the bound.
	ch = merge(t, s, mk("t1", "r1", "g1", t0.Add(time.Minute), "e2", "e1"), mk("t1", "r1", "g1", t0.Add(2*time.Minute), "e3", "e4"),
		mk("t1", "r1", "g2", t0, "e9"))
	if len(ch) != 2 || ch[0].New || ch[0].Alert.ID != id || !ch[1].New {
		t.Fatalf("second call: changes %+v, want the first alert updated once and one new", ch)
	}
	got, err := s.Alert(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != 3 || !got.LastSeen.Equal(t0.Add(2*time.Minute)) || !got.FirstSeen.Equal(t0) {
		t.Errorf("merged alert: count %d first %v last %v, want 3, %v, %v", got.Count, got.FirstSeen, got.LastSeen, t0, t0.Add(2*time.Minute))
	}
	if !slices.Equal(got.EventIDs, []string{"e1", "e2", "e3"}) {
		t.Errorf("event IDs %v, want [e1 e2 e3] (distinct, bounded at 3)", got.EventIDs)
	}
	if got.RuleTitle != "Title of r1" || !slices.Equal(got.Tags, []string{"attack.t1059"}) || got.Host != "ws-g1" || got.User != "user-g1" ||
		string(got.Context) != `{"fields":{"Image":"C:\\x.exe"}}` || got.Status != tansa.AlertNew {
		t.Errorf("stored alert lost fields: %+v", got)
	}
	// Another tenant or kind never merges.
	other := mk("t2", "r1", "g1", t0)
	ioc := mk("t1", "r1", "g1", t0)
	ioc.Kind = tansa.AlertIOC
	if ch := merge(t, s, other, ioc); len(ch) != 2 || !ch[0].New || !ch[1].New {
		t.Errorf("other tenant and kind: %+v, want two new alerts", ch)
	}
	if _, n := all(t, s, alert.Query{}); n != 4 {
		t.Errorf("%d alerts stored, want 4", n)
	}
}

func testMergeWindow(t *testing.T, s alert.Store) {
	first := merge(t, s, mk("t1", "r1", "g", t0))[0].Alert
	// Two hours later: outside the window, a new alert.
	late := merge(t, s, mk("t1", "r1", "g", t0.Add(2*time.Hour)))
	if !late[0].New {
		t.Errorf("match 2 h later merged into %s, want a new alert", late[0].Alert.ID)
	}
	// An out-of-order match inside the first alert's window merges into it.
	back := merge(t, s, mk("t1", "r1", "g", t0.Add(-30*time.Minute)))
	if back[0].New || back[0].Alert.ID != first.ID || !back[0].Alert.FirstSeen.Equal(t0.Add(-30*time.Minute)) {
		t.Errorf("earlier match: %+v, want merged into %s with first seen moved back", back[0], first.ID)
	}
	// A closed alert does not take new matches.
	_, err := s.Triage(context.Background(), []string{first.ID}, func(a tansa.Alert) (tansa.Alert, tansa.AuditEntry, bool, error) {
		a.Status, a.CloseReason, a.Updated = tansa.AlertClosed, "benign", t0
		return a, tansa.AuditEntry{Time: t0, TenantID: a.TenantID, Actor: "user:test", Action: "alert.close", ObjectType: "alert", ObjectID: a.ID}, true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ch := merge(t, s, mk("t1", "r1", "g", t0.Add(time.Minute))); !ch[0].New {
		t.Errorf("match after close merged into closed alert %s, want a new alert", ch[0].Alert.ID)
	}
}

func testFilters(t *testing.T, s alert.Store) {
	var in []tansa.Alert
	for i := range 12 {
		a := mk([]string{"t1", "t2"}[i%2], fmt.Sprintf("r%d", i%3), fmt.Sprintf("g%d", i), t0.Add(time.Duration(i)*time.Minute))
		a.Level = tansa.Levels[i%5]
		a.Count = i + 1
		in = append(in, a)
	}
	merge(t, s, in...)
	if _, n := all(t, s, alert.Query{Scope: access.Scope{Tenants: []string{"t1"}}}); n != 6 {
		t.Errorf("tenant t1: total %d, want 6", n)
	}
	if _, n, _ := s.Alerts(context.Background(), alert.Query{Page: access.Page{Limit: 10}}); n != 0 {
		t.Errorf("zero scope: total %d, want 0 (it matches nothing)", n)
	}
	if got, n := all(t, s, alert.Query{MinLevel: "high"}); n != 4 || slices.ContainsFunc(got, func(a tansa.Alert) bool { return tansa.LevelRank(a.Level) < 3 }) {
		t.Errorf("min level high: total %d, want 4", n)
	}
	if _, n := all(t, s, alert.Query{Level: "low", RuleID: "r1"}); n != 1 {
		t.Errorf("level low, rule r1: total %d, want 1", n)
	}
	if got, n := all(t, s, alert.Query{Host: "WS-G5"}); n != 1 || got[0].GroupKey != "g5" {
		t.Errorf("host WS-G5 (any case): total %d, want 1", n)
	}
	if _, n := all(t, s, alert.Query{User: "user-g7", Text: "title of r1"}); n != 1 {
		t.Errorf("user and text: total %d, want 1", n)
	}
	if _, n := all(t, s, alert.Query{Since: t0.Add(10 * time.Minute)}); n != 2 {
		t.Errorf("since +10m: total %d, want 2", n)
	}
	if _, n := all(t, s, alert.Query{Until: t0.Add(2 * time.Minute), Kind: tansa.AlertSigma}); n != 2 {
		t.Errorf("until +2m: total %d, want 2", n)
	}
	got, _ := all(t, s, alert.Query{Sort: alert.SortCount})
	if got[0].Count != 12 || got[11].Count != 1 {
		t.Errorf("sort by count: first %d last %d, want 12 and 1", got[0].Count, got[11].Count)
	}
	got, _ = all(t, s, alert.Query{Sort: alert.SortLevel})
	if got[0].Level != "critical" || got[11].Level != "informational" {
		t.Errorf("sort by level: first %s last %s", got[0].Level, got[11].Level)
	}
	got, _ = all(t, s, alert.Query{})
	if got[0].GroupKey != "g11" {
		t.Errorf("default sort: first %s, want g11 (newest)", got[0].GroupKey)
	}
	page, n := all(t, s, alert.Query{Page: access.Page{Limit: 5, Offset: 10}})
	if n != 12 || len(page) != 2 {
		t.Errorf("page at 10: %d items of %d, want 2 of 12", len(page), n)
	}
	items, total, err := s.Alerts(context.Background(), alert.Query{Scope: access.Scope{All: true}})
	if err != nil || total != 12 || len(items) != 0 {
		t.Errorf("limit 0: %d items, total %d, %v; want a count only", len(items), total, err)
	}
	_, _ = s.Triage(context.Background(), []string{got[0].ID}, func(a tansa.Alert) (tansa.Alert, tansa.AuditEntry, bool, error) {
		a.Status, a.Assignee = tansa.AlertAcknowledged, "u1"
		return a, tansa.AuditEntry{Time: t0, TenantID: a.TenantID, Actor: "user:test", Action: "alert.assign", ObjectType: "alert", ObjectID: a.ID}, true, nil
	})
	if _, n := all(t, s, alert.Query{Status: []tansa.AlertStatus{tansa.AlertAcknowledged}, Assignee: "u1"}); n != 1 {
		t.Errorf("acknowledged, assigned to u1: total %d, want 1", n)
	}
	if _, n := all(t, s, alert.Query{Assignee: "-"}); n != 11 {
		t.Errorf("unassigned: total %d, want 11", n)
	}
}

type auditor interface {
	Audit(ctx context.Context, q access.AuditQuery) ([]tansa.AuditEntry, int, error)
}

func audits(t *testing.T, s alert.Store, action string) int {
	t.Helper()
	a, ok := s.(auditor)
	if !ok {
		return -1
	}
	_, n, err := a.Audit(context.Background(), access.AuditQuery{Scope: access.Scope{All: true}, Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testTriage(t *testing.T, s alert.Store) {
	ch := merge(t, s, mk("t1", "r1", "a", t0), mk("t1", "r1", "b", t0))
	ids := []string{ch[0].Alert.ID, ch[1].Alert.ID}
	out, err := s.Triage(context.Background(), ids, func(a tansa.Alert) (tansa.Alert, tansa.AuditEntry, bool, error) {
		if a.GroupKey == "b" {
			return a, tansa.AuditEntry{}, false, nil
		}
		a.Status, a.CloseReason, a.Updated = tansa.AlertClosed, "false-positive", t0.Add(time.Hour)
		return a, tansa.AuditEntry{Time: t0, TenantID: a.TenantID, Actor: "user:test", Action: "alert.close", ObjectType: "alert", ObjectID: a.ID}, true, nil
	})
	if err != nil || len(out) != 2 {
		t.Fatalf("Triage: %d alerts, %v", len(out), err)
	}
	got, _ := s.Alert(context.Background(), ids[0])
	if got.Status != tansa.AlertClosed || got.CloseReason != "false-positive" || !got.Updated.Equal(t0.Add(time.Hour)) {
		t.Errorf("closed alert stored as %s/%s updated %v", got.Status, got.CloseReason, got.Updated)
	}
	if got, _ := s.Alert(context.Background(), ids[1]); got.Status != tansa.AlertNew {
		t.Errorf("untouched alert is %s, want new", got.Status)
	}
	if n := audits(t, s, "alert.close"); n != -1 && n != 1 {
		t.Errorf("%d alert.close audit entries, want 1", n)
	}
}

func testTriageRollsBack(t *testing.T, s alert.Store) {
	ch := merge(t, s, mk("t1", "r1", "a", t0))
	id := ch[0].Alert.ID
	_, err := s.Triage(context.Background(), []string{id, "01900000-0000-7000-8000-00000000dead"}, func(a tansa.Alert) (tansa.Alert, tansa.AuditEntry, bool, error) {
		a.Status = tansa.AlertAcknowledged
		return a, tansa.AuditEntry{Time: t0, TenantID: a.TenantID, Actor: "user:test", Action: "alert.acknowledge", ObjectType: "alert", ObjectID: a.ID}, true, nil
	})
	if tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("triage with a missing ID: %v, want NotFound", err)
	}
	if got, _ := s.Alert(context.Background(), id); got.Status != tansa.AlertNew {
		t.Errorf("alert is %s after a failed triage, want new (rolled back)", got.Status)
	}
	if n := audits(t, s, "alert.acknowledge"); n > 0 {
		t.Errorf("%d audit entries after a failed triage, want 0", n)
	}
	if _, err := s.Alert(context.Background(), "nope"); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("Alert(nope): %v, want NotFound", err)
	}
}

func testExceptions(t *testing.T, s alert.Store) {
	ctx := context.Background()
	e := alert.Exception{ID: uuid.NewString(), TenantID: "t1", RuleID: "r1", Host: "ws1",
		Conditions: []alert.Condition{{Field: "Image", Op: alert.OpEndsWith, Values: []string{"\\backup.exe"}}},
		Reason:     "nightly backup", Owner: "alice", Expires: t0.Add(24 * time.Hour), Creator: "user:alice", Created: t0, Updated: t0}
	au := tansa.AuditEntry{Time: t0, TenantID: "t1", Actor: "user:alice", Action: "exception.create", ObjectType: "exception", ObjectID: e.ID}
	if err := s.PutAlertException(ctx, e, au); err != nil {
		t.Fatal(err)
	}
	old := alert.Exception{ID: uuid.NewString(), TenantID: "t1", RuleID: "r2", Conditions: []alert.Condition{}, Reason: "old", Owner: "bob",
		Expires: t0.Add(-time.Hour), Creator: "user:bob", Created: t0.Add(-time.Hour), Updated: t0}
	if err := s.PutAlertException(ctx, old, au); err != nil {
		t.Fatal(err)
	}
	got, err := s.AlertException(ctx, e.ID)
	if err != nil || got.Host != "ws1" || len(got.Conditions) != 1 || got.Conditions[0].Values[0] != "\\backup.exe" || !got.Expires.Equal(e.Expires) {
		t.Fatalf("Exception: %+v, %v", got, err)
	}
	if _, n, _ := s.AlertExceptions(ctx, alert.ExceptionQuery{Scope: access.Scope{Tenants: []string{"t1"}}}); n != 2 {
		t.Errorf("exceptions of t1: %d, want 2", n)
	}
	if l, n, _ := s.AlertExceptions(ctx, alert.ExceptionQuery{Scope: access.Scope{Tenants: []string{"t1"}}, Active: t0, Page: access.Page{Limit: 10}}); n != 1 || l[0].ID != e.ID {
		t.Errorf("active exceptions of t1: %d, want 1 (the other expired)", n)
	}
	if _, n, _ := s.AlertExceptions(ctx, alert.ExceptionQuery{Scope: access.Scope{Tenants: []string{"t2"}}}); n != 0 {
		t.Errorf("exceptions of t2: %d, want 0", n)
	}
	if err := s.CountExceptionHits(ctx, map[string]alert.Hit{e.ID: {Count: 3, Last: t0.Add(time.Minute)}, "gone": {Count: 1, Last: t0}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CountExceptionHits(ctx, map[string]alert.Hit{e.ID: {Count: 2, Last: t0}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.AlertException(ctx, e.ID)
	if got.Hits != 5 || !got.LastHit.Equal(t0.Add(time.Minute)) {
		t.Errorf("hits %d last %v, want 5 and %v", got.Hits, got.LastHit, t0.Add(time.Minute))
	}
	e.Reason, e.Updated = "nightly backup job", t0.Add(time.Hour)
	if err := s.PutAlertException(ctx, e, au); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.AlertException(ctx, e.ID); got.Reason != "nightly backup job" || got.Hits != 5 {
		t.Errorf("after update: reason %q hits %d, want the new reason and hits kept", got.Reason, got.Hits)
	}
	if err := s.DeleteAlertException(ctx, e.ID, au); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AlertException(ctx, e.ID); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("after delete: %v, want NotFound", err)
	}
	if err := s.DeleteAlertException(ctx, e.ID, au); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("delete again: %v, want NotFound", err)
	}
	if n := audits(t, s, "exception.create"); n != -1 && n != 4 {
		t.Errorf("%d exception audit entries, want 4 (one per change)", n)
	}
}

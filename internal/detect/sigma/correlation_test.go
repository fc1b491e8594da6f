package sigma

import (
	"testing"
	"time"
)

const corrRules = `
title: failed logon
id: 00000000-0000-0000-0000-000000000001
name: failed_logon
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
---
title: successful logon
id: 00000000-0000-0000-0000-000000000002
name: successful_logon
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4624}
  condition: sel
---
title: brute force
id: 00000000-0000-0000-0000-000000000010
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [TargetUserName]
  timespan: 5m
  condition: {gte: 3}
---
title: spraying
id: 00000000-0000-0000-0000-000000000011
correlation:
  type: value_count
  rules: [00000000-0000-0000-0000-000000000001]
  group-by: [IpAddress]
  timespan: 5m
  condition: {field: TargetUserName, gte: 3}
---
title: fail then success
id: 00000000-0000-0000-0000-000000000012
correlation:
  type: temporal_ordered
  rules: [failed_logon, successful_logon]
  group-by: [user]
  timespan: 10m
  aliases:
    user: {failed_logon: TargetUserName, successful_logon: TargetUserName}
---
title: any order
id: 00000000-0000-0000-0000-000000000013
generate: true
correlation:
  type: temporal
  rules: [failed_logon, successful_logon]
  group-by: [TargetUserName]
  timespan: 10m
  generate: true
---
title: bytes
id: 00000000-0000-0000-0000-000000000014
correlation:
  type: value_sum
  rules: [successful_logon]
  group-by: [TargetUserName]
  timespan: 1h
  condition: {field: Bytes, gt: 1000}
---
title: avg bytes
id: 00000000-0000-0000-0000-000000000015
correlation:
  type: value_avg
  rules: [successful_logon]
  group-by: [TargetUserName]
  timespan: 1h
  condition: {field: Bytes, gte: 500}
---
title: rare logon type
id: 00000000-0000-0000-0000-000000000016
correlation:
  type: value_percentile
  rules: [successful_logon]
  group-by: [Computer]
  timespan: 1h
  condition: {field: LogonType, lte: 10}
---
title: chained
id: 00000000-0000-0000-0000-000000000017
correlation:
  type: event_count
  rules: [00000000-0000-0000-0000-000000000010]
  group-by: [TargetUserName]
  timespan: 1h
  condition: {gte: 2}
`

type corrHarness struct {
	t  *testing.T
	rs *Ruleset
	c  *Correlator
	t0 time.Time
}

func newCorrHarness(t *testing.T, opts CorrelatorOptions) *corrHarness {
	rules, err := Parse("corr.yml", []byte(corrRules))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCorrelator(rules, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &corrHarness{t: t, rs: rs, c: c, t0: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// feed sends one event at t0+sec and returns the titles of the alerts.
func (h *corrHarness) feed(sec int, f Fields) []string {
	f["Channel"] = "Security"
	var rules []*Rule
	for _, m := range h.rs.Match(f, nil) {
		rules = append(rules, m.Rule)
	}
	var out []string
	for _, a := range h.c.Observe(f, h.t0.Add(time.Duration(sec)*time.Second), rules) {
		out = append(out, a.Rule.Title)
	}
	return out
}

func has(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func TestCorrelationEventCount(t *testing.T) {
	h := newCorrHarness(t, CorrelatorOptions{Lateness: time.Minute})
	for i, sec := range []int{0, 10} {
		if got := h.feed(sec, Fields{"EventID": int64(4625), "TargetUserName": "bob", "IpAddress": "10.0.0.1"}); has(got, "brute force") {
			t.Fatalf("event %d: fired early: %v", i, got)
		}
	}
	// Another user does not count towards bob's group.
	if got := h.feed(20, Fields{"EventID": int64(4625), "TargetUserName": "alice", "IpAddress": "10.0.0.1"}); has(got, "brute force") {
		t.Fatalf("fired on other group: %v", got)
	}
	got := h.feed(30, Fields{"EventID": int64(4625), "TargetUserName": "bob", "IpAddress": "10.0.0.2"})
	if !has(got, "brute force") {
		t.Fatalf("third failure in 5m: got %v, want brute force", got)
	}
	// Spraying: three distinct users from 10.0.0.1? only bob and alice so far.
	if got := h.feed(40, Fields{"EventID": int64(4625), "TargetUserName": "carol", "IpAddress": "10.0.0.1"}); !has(got, "spraying") {
		t.Fatalf("three users from one address: got %v, want spraying", got)
	}
}

func TestCorrelationWindowExpires(t *testing.T) {
	h := newCorrHarness(t, CorrelatorOptions{})
	h.feed(0, Fields{"EventID": int64(4625), "TargetUserName": "bob"})
	h.feed(200, Fields{"EventID": int64(4625), "TargetUserName": "bob"})
	if got := h.feed(400, Fields{"EventID": int64(4625), "TargetUserName": "bob"}); has(got, "brute force") {
		t.Fatalf("events spread over 400s fired a 5m rule: %v", got)
	}
}

func TestCorrelationOutOfOrder(t *testing.T) {
	h := newCorrHarness(t, CorrelatorOptions{Lateness: 3 * time.Minute})
	h.feed(100, Fields{"EventID": int64(4625), "TargetUserName": "bob"})
	h.feed(200, Fields{"EventID": int64(4625), "TargetUserName": "bob"})
	// Late by 150s but within lateness; it belongs in the window.
	if got := h.feed(50, Fields{"EventID": int64(4625), "TargetUserName": "bob"}); !has(got, "brute force") {
		t.Fatalf("late event within lateness: got %v", got)
	}
	// Too late: dropped and counted.
	h.feed(10, Fields{"EventID": int64(4625), "TargetUserName": "eve"})
	if st := h.c.Stats(); st.Late != 1 {
		t.Fatalf("late = %d, want 1", st.Late)
	}
}

func TestCorrelationTemporalOrdered(t *testing.T) {
	h := newCorrHarness(t, CorrelatorOptions{Lateness: 10 * time.Minute})
	// Success before failure: the unordered rule fires, the ordered one not.
	got := h.feed(0, Fields{"EventID": int64(4624), "TargetUserName": "dan"})
	got = append(got, h.feed(60, Fields{"EventID": int64(4625), "TargetUserName": "dan"})...)
	if !has(got, "any order") || has(got, "fail then success") {
		t.Fatalf("success then failure: got %v", got)
	}
	got = h.feed(120, Fields{"EventID": int64(4624), "TargetUserName": "dan"})
	if !has(got, "fail then success") {
		t.Fatalf("failure then success: got %v", got)
	}
	// Out of order arrival: the failure (t=200) arrives after the success (t=300).
	h2 := newCorrHarness(t, CorrelatorOptions{Lateness: 10 * time.Minute})
	h2.feed(300, Fields{"EventID": int64(4624), "TargetUserName": "fay"})
	if got := h2.feed(200, Fields{"EventID": int64(4625), "TargetUserName": "fay"}); !has(got, "fail then success") {
		t.Fatalf("late failure before success: got %v", got)
	}
}

func TestCorrelationValueAggregates(t *testing.T) {
	h := newCorrHarness(t, CorrelatorOptions{})
	got := h.feed(0, Fields{"EventID": int64(4624), "TargetUserName": "gus", "Bytes": int64(600), "Computer": "pc1", "LogonType": "2"})
	if !has(got, "avg bytes") || has(got, "bytes") {
		t.Fatalf("first: got %v", got)
	}
	got = h.feed(10, Fields{"EventID": int64(4624), "TargetUserName": "gus", "Bytes": "700", "Computer": "pc1", "LogonType": "2"})
	if !has(got, "bytes") {
		t.Fatalf("sum 1300 > 1000: got %v", got)
	}
	for i := 0; i < 20; i++ {
		h.feed(20+i, Fields{"EventID": int64(4624), "TargetUserName": "x", "Computer": "pc2", "LogonType": "3"})
	}
	if got := h.feed(50, Fields{"EventID": int64(4624), "TargetUserName": "x", "Computer": "pc2", "LogonType": "10"}); !has(got, "rare logon type") {
		t.Fatalf("1 of 21 logon types: got %v", got)
	}
}

func TestCorrelationChain(t *testing.T) {
	h := newCorrHarness(t, CorrelatorOptions{})
	var all []string
	for i := 0; i < 6; i++ {
		all = append(all, h.feed(i, Fields{"EventID": int64(4625), "TargetUserName": "hal"})...)
	}
	if !has(all, "chained") {
		t.Fatalf("two brute-force alerts should fire the chained rule: %v", all)
	}
}

func TestCorrelationSnapshotRestore(t *testing.T) {
	h := newCorrHarness(t, CorrelatorOptions{})
	h.feed(0, Fields{"EventID": int64(4625), "TargetUserName": "ian"})
	h.feed(1, Fields{"EventID": int64(4625), "TargetUserName": "ian"})
	b, err := h.c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	h2 := newCorrHarness(t, CorrelatorOptions{})
	if dropped, err := h2.c.Restore(b); err != nil || dropped != 0 {
		t.Fatalf("restore: dropped %d, %v", dropped, err)
	}
	if got := h2.feed(2, Fields{"EventID": int64(4625), "TargetUserName": "ian"}); !has(got, "brute force") {
		t.Fatalf("after restore the third failure should fire: %v", got)
	}
	if _, err := h2.c.Restore([]byte("junk")); err == nil {
		t.Fatal("restore of junk succeeded")
	}
}

func TestCorrelationEviction(t *testing.T) {
	h := newCorrHarness(t, CorrelatorOptions{MaxGroups: 4})
	for i := 0; i < 10; i++ {
		h.feed(i, Fields{"EventID": int64(4625), "TargetUserName": string(rune('a' + i))})
	}
	st := h.c.Stats()
	if st.Groups > 4 || st.Evicted == 0 {
		t.Fatalf("stats %+v: want at most 4 groups and evictions", st)
	}
}

func TestCorrelationStandalone(t *testing.T) {
	rules, err := Parse("corr.yml", []byte(corrRules))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCorrelator(rules, CorrelatorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// failed_logon is referenced by "any order", which has generate: true.
	if !c.Standalone(rules[0]) {
		t.Error("failed_logon should stay standalone (generate: true)")
	}
	bad := `title: x
correlation: {type: event_count, rules: [nope], group-by: [a], timespan: 1m, condition: {gte: 1}}`
	rs, err := Parse("bad.yml", []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewCorrelator(rs, CorrelatorOptions{}); err == nil {
		t.Error("unknown reference accepted")
	}
}

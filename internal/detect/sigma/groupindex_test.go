package sigma

import "testing"

// TestGroupIndex checks that skipping log-source groups by EventID leaves
// the matches as they are for integer, decimal-text, odd-text and missing
// EventIDs, for Channels in any case, odd types and lengths, and for the
// ECS names of the fields.
func TestGroupIndex(t *testing.T) {
	src := `title: proc
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\evil.exe'}
  condition: sel
---
title: net
logsource: {product: windows, category: network_connection}
detection:
  sel: {Image|endswith: '\evil.exe'}
  condition: sel
---
title: sec
logsource: {product: windows, service: security}
detection:
  sel: {Image|endswith: '\evil.exe'}
  condition: sel
---
title: any
logsource: {product: windows}
detection:
  sel: {Image|endswith: '\evil.exe'}
  condition: sel
---
title: user created
logsource: {product: windows, service: security}
detection:
  sel: {EventID: [4720, 4741]}
  condition: sel
---
title: user created or evil
logsource: {product: windows, service: security}
detection:
  a: {EventID: 4720}
  b: {Image|endswith: '\evil.exe'}
  condition: a or b
`
	rules, err := Parse("t.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	fast, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fast.gi == nil {
		t.Fatal("no group index")
	}
	slow, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	slow.gi = nil
	const sysmon = "Microsoft-Windows-Sysmon/Operational"
	img := `C:\x\evil.exe`
	cases := []struct {
		e    Fields
		want []string
	}{
		{Fields{"Channel": sysmon, "EventID": int64(1), "Image": img}, []string{"proc", "any"}},
		{Fields{"Channel": sysmon, "EventID": "1", "Image": img}, []string{"proc", "any"}},
		{Fields{"Channel": sysmon, "EventID": int64(3), "Image": img}, []string{"net", "any"}},
		{Fields{"Channel": "Security", "EventID": int64(4688), "Image": img}, []string{"proc", "sec", "user created or evil", "any"}},
		{Fields{"Channel": "SECURITY", "EventID": "4688", "Image": img}, []string{"proc", "sec", "user created or evil", "any"}},
		{Fields{"Channel": "Security", "EventID": int64(5157), "Image": img}, []string{"net", "sec", "user created or evil", "any"}},
		{Fields{"Channel": "Security", "EventID": int64(4720)}, []string{"user created", "user created or evil"}},
		{Fields{"Channel": "Security", "EventID": "4741"}, []string{"user created"}},
		{Fields{"Channel": "Security", "EventID": "04720"}, nil},
		{Fields{"Channel": "Security", "EventID": 4720.0}, nil},
		{Fields{"Channel": "Security", "EventID": []string{"4720"}}, nil},
		{Fields{"Channel": "Security"}, []string{}},
		{Fields{"Channel": "Security ", "EventID": int64(4688), "Image": img}, []string{"any"}},
		{Fields{"Channel": int64(7), "EventID": int64(4688), "Image": img}, []string{"any"}},
		{Fields{"Channel": []string{"Security"}, "EventID": int64(4688), "Image": img}, nil},
		{Fields{"Channel": string(make([]byte, 300)), "EventID": int64(4688), "Image": img}, []string{"any"}},
		{Fields{"EventID": int64(4688), "Image": img}, []string{"any"}},
		{Fields{"Channel": sysmon, "EventID": int64(99), "Image": img}, []string{"any"}},
		{Fields{"Channel": sysmon, "EventID": "01", "Image": img}, nil},
		{Fields{"Channel": sysmon, "EventID": []string{"1"}, "Image": img}, nil},
		{Fields{"Channel": sysmon, "Image": img}, []string{"any"}},
		{Fields{"winlog.channel": sysmon, "event.code": "1", "process.executable": img}, []string{"proc", "any"}},
		{Fields{"process.name": "sshd", "Image": img}, []string{"any"}},
		{Fields{"Channel": nil, "EventID": nil, "Image": img}, []string{"any"}},
	}
	for _, c := range cases {
		a := fast.Match(c.e, nil)
		b := slow.Match(c.e, nil)
		if len(a) != len(b) {
			t.Errorf("%v: %d matches with the index, %d without", c.e, len(a), len(b))
			continue
		}
		for i := range a {
			if a[i].Rule != b[i].Rule {
				t.Errorf("%v: match %d is %s with the index, %s without", c.e, i, a[i].Rule.Title, b[i].Rule.Title)
			}
		}
		if c.want == nil {
			continue
		}
		var got []string
		for _, r := range a {
			got = append(got, r.Rule.Title)
		}
		if len(got) != len(c.want) {
			t.Errorf("%v: matched %v, want %v", c.e, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%v: matched %v, want %v", c.e, got, c.want)
				break
			}
		}
	}
	// An event with neither field (syslog, a firewall) runs only the group
	// whose filter requires neither: no Windows filter at all.
	if g, _ := fast.gi.pick(Fields{"process.name": "sshd", "Image": img}); len(g) != 1 || g[0].rules[0].Rule.Title != "any" {
		t.Errorf("an event without Channel and EventID picks %d groups, want only the one of rule any", len(g))
	}
	if g, _ := fast.gi.pick(Fields{"Channel": sysmon, "Image": img}); len(g) != 1 {
		t.Errorf("a Sysmon event without EventID picks %d groups, want 1 (proc and net need an EventID, sec the Security Channel)", len(g))
	}
	// Rules that need EventID 4720 or 4741 are skipped for a 4688 and run
	// for a 4741; "a or b" needs no EventID.
	rules4688 := fast.gi.table[fast.gi.keys[0].slots["security"]][fast.gi.keys[1].slots["4688"]]
	_, eid := fast.gi.pick(Fields{"Channel": "Security", "EventID": int64(4688)})
	_, eid4741 := fast.gi.pick(Fields{"Channel": "Security", "EventID": int64(4741)})
	skipped, kept := 0, 0
	for _, g := range rules4688 {
		for _, r := range g.rules {
			if r.Rule.Title == "user created" && (!fast.gi.skips(r.idx, eid) || fast.gi.skips(r.idx, eid4741)) {
				t.Errorf("rule %q: skipped for 4688 %v, for 4741 %v; want true, false", r.Rule.Title, fast.gi.skips(r.idx, eid), fast.gi.skips(r.idx, eid4741))
			}
			if fast.gi.skips(r.idx, eid) {
				skipped++
			} else {
				kept++
			}
		}
	}
	if skipped != 1 || kept != 4 {
		t.Errorf("a Security 4688 skips %d rules and evaluates %d, want 1 and 4", skipped, kept)
	}
}

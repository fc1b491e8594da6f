package sigma

import (
	"slices"
	"strconv"
)

// The group index lets an event skip the log-source groups it cannot pass.
// Windows log-source filters require an EventID from a short list
// (process_creation: 1 or 4688, …), a Channel (service security:
// "Security"), or both, so Compile derives from each group's filter the
// EventIDs and Channels it needs, when it needs some, and lists per
// (Channel, EventID) pair the groups worth running. Per event, the two
// fields are looked up once, the same way the filters look them up; a value
// the index cannot key exactly (not an integer or decimal text, not a
// string) admits every group as far as that field goes. An absent field
// admits only the groups that require none of its values: a required value
// is a plain equality, which an absent field fails, so syslog, firewall and
// other non-Windows events skip every Windows filter at once. The filters
// still run on the groups picked, so results never change: the index only
// leaves out filters that would have failed.
//
// Rules are indexed by EventID the same way: most Security and System rules
// select by EventID number alone (EventID: 4720) and have no literal for
// the prefilter, so without this each Security event evaluated some forty of
// them. A rule whose condition requires one of some EventIDs is skipped
// for an event whose EventID slot is none of them.

// groupIndex picks the groups whose filters an event can pass.
type groupIndex struct {
	keys [2]indexKey
	// table[c][i] lists, in compile order, the groups an event with
	// Channel slot c and EventID slot i may pass (slots: see indexKey).
	table [][][]*ruleGroup
	// ruleNeed[i] is a bit set over EventID slots: the slots rule i can
	// match, or nil when it requires no EventID.
	ruleNeed [][]uint64
}

// Slots of an indexed field's value: slotUnknown when the value cannot be
// keyed (every group is possible), slotOther when it is none of the values
// any filter names, then one slot per named value.
const (
	slotUnknown = 0
	slotOther   = 1
)

// indexKey is one indexed field.
type indexKey struct {
	field string   // Windows-native name
	names []string // the field and its mapped alternatives, as the filters look it up
	slots map[string]int
	num   bool // EventID: keyed by decimal text; else by ASCII-folded text
}

// maxChannel is the longest Channel the index keys; filters naming longer
// ones are not indexed by Channel, so longer event values pass no keyed
// group's Channel requirement.
const maxChannel = 128

// need is what one group's filter requires of one field: nil, nothing.
type need []string

// buildGroupIndex indexes groups by the EventIDs and Channels their filters
// require, and rules by the EventIDs their conditions require; it returns
// nil when nothing requires any.
func buildGroupIndex(groups []*ruleGroup, rules []*CompiledRule) *groupIndex {
	gi := &groupIndex{keys: [2]indexKey{
		{field: "Channel", slots: map[string]int{}},
		{field: "EventID", slots: map[string]int{}, num: true},
	}}
	needs := make([][2]need, len(groups))
	indexed := false
	for gn, g := range groups {
		if g.filter == nil {
			continue
		}
		for k := range gi.keys {
			vals, r := gi.keys[k].required(g.filter)
			if r == errNames {
				return nil
			}
			if r == haveVals {
				needs[gn][k], indexed = vals, true
				for _, v := range vals {
					if _, ok := gi.keys[k].slots[v]; !ok {
						gi.keys[k].slots[v] = len(gi.keys[k].slots) + 2
					}
				}
			}
		}
	}
	eids := &gi.keys[1]
	ruleVals := make([]need, len(rules))
	for i, cr := range rules {
		vals, r := eids.required(cr.cond)
		if r != haveVals {
			continue // errNames: the rule looks EventID up by other names; it is simply not indexed
		}
		ruleVals[i], indexed = vals, true
		for _, v := range vals {
			if _, ok := eids.slots[v]; !ok {
				eids.slots[v] = len(eids.slots) + 2
			}
		}
	}
	if !indexed {
		return nil
	}
	words := (len(eids.slots) + 2 + 63) / 64
	gi.ruleNeed = make([][]uint64, len(rules))
	for i, vals := range ruleVals {
		if vals == nil {
			continue
		}
		bits := make([]uint64, words)
		for _, v := range vals {
			sl := eids.slots[v]
			bits[sl>>6] |= 1 << (sl & 63)
		}
		gi.ruleNeed[i] = bits
	}
	admits := func(k, slot int, n need) bool {
		if n == nil || slot == slotUnknown {
			return true
		}
		for _, v := range n {
			if gi.keys[k].slots[v] == slot {
				return true
			}
		}
		return false
	}
	nc, ni := len(gi.keys[0].slots)+2, len(gi.keys[1].slots)+2
	gi.table = make([][][]*ruleGroup, nc)
	for c := range gi.table {
		gi.table[c] = make([][]*ruleGroup, ni)
		for i := range gi.table[c] {
			for gn, g := range groups {
				if admits(0, c, needs[gn][0]) && admits(1, i, needs[gn][1]) {
					gi.table[c][i] = append(gi.table[c][i], g)
				}
			}
		}
	}
	return gi
}

type needResult int8

const (
	noVals   needResult = iota // the matcher requires no value of the field
	haveVals                   // the matcher requires one of the returned values
	errNames                   // the field looked up under other names: give up
)

// required returns the values of the key's field one of which m requires.
func (k *indexKey) required(m matcher) (need, needResult) {
	switch x := m.(type) {
	case *fieldMatch:
		if len(x.names) == 0 || x.names[0] != k.field {
			return nil, noVals
		}
		if k.names == nil {
			k.names = x.names
		} else if !slices.Equal(k.names, x.names) {
			return nil, errNames
		}
		if x.neq || x.all || x.exists != 0 || x.refs != nil || len(x.groups) == 0 {
			return nil, noVals
		}
		var vals need
		for _, g := range x.groups {
			for _, vm := range g {
				v, ok := k.keyOf(vm)
				if !ok {
					return nil, noVals
				}
				vals = append(vals, v)
			}
		}
		return vals, haveVals
	case andMatch:
		// Every part must hold, so any part's values will do; filters
		// name each field once.
		for _, c := range x {
			if vals, r := k.required(c); r != noVals {
				return vals, r
			}
		}
		return nil, noVals
	case orMatch:
		var all need
		res := haveVals
		for _, c := range x {
			vals, r := k.required(c)
			if r == errNames {
				return nil, r
			}
			if r == noVals {
				res = noVals // one alternative needs nothing: neither does the whole
			}
			all = append(all, vals...)
		}
		if res == noVals {
			return nil, noVals
		}
		slices.Sort(all)
		return slices.Compact(all), haveVals
	}
	return nil, noVals
}

// keyOf returns the key of the only values vm matches, or false when vm
// is not a plain equality the index can key exactly.
func (k *indexKey) keyOf(vm valueMatcher) (string, bool) {
	sm, ok := vm.(*strMatcher)
	if !ok || sm.hex || sm.pat.op != opEq {
		return "", false
	}
	if k.num {
		// A decimal pattern matches an integer value by value and a string
		// value only when it is that decimal text.
		if !sm.isInt || strconv.FormatInt(sm.intVal, 10) != sm.pat.lit {
			return "", false
		}
		return sm.pat.lit, true
	}
	// A folded byte-wise pattern matches a string whose ASCII-lowered
	// bytes equal it; integer values it never matches unless numeric, which
	// a Channel name is not.
	if sm.isInt || sm.numeric || sm.pat.cased || !sm.pat.ascii || len(sm.pat.lit) > maxChannel {
		return "", false
	}
	return sm.pat.lit, true
}

// slot returns the slot of e's value of the key's field.
func (k *indexKey) slot(e Event) int {
	v, ok := lookup(e, k.names)
	if !ok {
		return slotOther // an equality the filters require fails on an absent field
	}
	var text string
	switch x := v.(type) {
	case int64:
		if !k.num {
			return slotUnknown
		}
		var buf [24]byte
		b := strconv.AppendInt(buf[:0], x, 10)
		return k.slotOf(b)
	case string:
		text = x
	default:
		return slotUnknown
	}
	if k.num {
		return k.slotOf([]byte(text)) // small: does not escape
	}
	var buf [maxChannel]byte
	if len(text) > len(buf) {
		return slotOther // longer than any Channel keyOf admits
	}
	b := buf[:len(text)]
	for i := 0; i < len(text); i++ {
		b[i] = lowerByte(text[i])
	}
	return k.slotOf(b)
}

func (k *indexKey) slotOf(b []byte) int {
	if s, ok := k.slots[string(b)]; ok {
		return s
	}
	return slotOther
}

// pick returns the groups e may pass and e's EventID slot.
func (gi *groupIndex) pick(e Event) ([]*ruleGroup, int) {
	eid := gi.keys[1].slot(e)
	return gi.table[gi.keys[0].slot(e)][eid], eid
}

// skips reports whether rule idx cannot match an event of EventID slot eid.
func (gi *groupIndex) skips(idx, eid int) bool {
	need := gi.ruleNeed[idx]
	return need != nil && eid != slotUnknown && need[eid>>6]&(1<<(eid&63)) == 0
}

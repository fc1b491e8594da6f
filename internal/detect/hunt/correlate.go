package hunt

import (
	"sort"

	"github.com/tansa-sec/tansa/internal/detect/sigma"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// fired is a correlation alert already raised in this hunt, kept so that
// chained correlations can name the events behind the alerts they count.
type fired struct {
	rule    *sigma.Rule
	groupBy map[string]string
	end     int64
	events  []int // indexes into the sorted correlation events
}

// correlate sorts the kept events by time (then file and position, so the
// result does not depend on the workers) and feeds them to the hunt's one
// Correlator. It returns a match per alert of level h.minRank or above,
// naming the group-by values and the contributing events: the events fed
// so far, within the alert's window, of a rule the correlation references,
// whose group-by values are the alert's.
func (h *hunter) correlate(evs []corrEvent) []Match {
	if len(h.rs.corrRules) == 0 || len(evs) == 0 {
		return nil
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := &evs[i], &evs[j]
		if !a.t.Equal(b.t) {
			return a.t.Before(b.t)
		}
		if a.file != b.file {
			return a.file < b.file
		}
		return a.seq < b.seq
	})
	var out []Match
	var history []fired
	for i := range evs {
		e := &evs[i]
		for _, a := range h.rs.corr.Observe(e.fields, e.t, e.matched) {
			f := fired{rule: a.Rule, groupBy: a.GroupBy, end: a.End.UnixNano(), events: h.contributors(evs[:i+1], history, a)}
			history = append(history, f)
			if levelRank(a.Rule.Level) < h.minRank || !h.rs.corr.Standalone(a.Rule) {
				continue
			}
			m := newMatch(a.Rule)
			m.Timestamp = a.End
			c := &Correlation{Type: string(a.Rule.Correlation.Type), GroupBy: a.GroupBy, Value: a.Value,
				Start: a.Start, End: a.End, EventCount: len(f.events), Events: []EventRef{}}
			// The line names the computer, channel and event ID when all
			// contributing events share them.
			computers, channels, ids := map[string]bool{}, map[string]bool{}, map[string]bool{}
			for k, j := range f.events {
				ce := &evs[j]
				if k < maxEventRefs {
					c.Events = append(c.Events, EventRef{File: ce.file, RecordID: ce.record, Timestamp: ce.t.UTC()})
				}
				computers[ce.computer], channels[ce.channel], ids[ce.eventID] = true, true, true
			}
			if len(f.events) > 0 {
				last := &evs[f.events[len(f.events)-1]]
				m.File, m.seq = last.file, last.seq
			}
			m.Computer, m.Channel, m.EventID = only(computers), only(channels), only(ids)
			m.Correlation = c
			out = append(out, m)
		}
	}
	return out
}

// contributors returns the indexes of the events behind alert a, in time
// order. evs holds the events fed so far; history the alerts raised so far,
// whose events count for correlations that reference correlations.
func (h *hunter) contributors(evs []corrEvent, history []fired, a sigma.Alert) []int {
	c := a.Rule.Correlation
	refs := h.rs.refs(c)
	start, end := a.Start.UnixNano(), a.End.UnixNano()
	set := map[int]bool{}
	for _, r := range refs {
		if r.Correlation != nil {
			for _, f := range history {
				if f.rule != r || f.end < start || f.end > end {
					continue
				}
				if h.sameGroup(c, a, r, func(name string) string { return f.groupBy[name] }) {
					for _, j := range f.events {
						set[j] = true
					}
				}
			}
			continue
		}
		lo := sort.Search(len(evs), func(i int) bool { return evs[i].t.UnixNano() >= start })
		for j := lo; j < len(evs) && evs[j].t.UnixNano() <= end; j++ {
			if !matched(evs[j].matched, r) {
				continue
			}
			fields := evs[j].fields
			if h.sameGroup(c, a, r, func(name string) string { v, _ := fields.Get(name); return tansa.FieldText(v) }) {
				set[j] = true
			}
		}
	}
	out := make([]int, 0, len(set))
	for j := range set {
		out = append(out, j)
	}
	sort.Ints(out)
	return out
}

// sameGroup reports whether the values get returns for the group-by fields
// of correlation c, read as rule r's events carry them, are alert a's.
func (h *hunter) sameGroup(c *sigma.Correlation, a sigma.Alert, r *sigma.Rule, get func(string) string) bool {
	for _, g := range c.GroupBy {
		if get(h.rs.fieldFor(c, g, r)) != a.GroupBy[g] {
			return false
		}
	}
	return true
}

func matched(rs []*sigma.Rule, r *sigma.Rule) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// only returns the one key of set, or "" when set has none or several.
func only(set map[string]bool) string {
	if len(set) != 1 {
		return ""
	}
	for k := range set {
		return k
	}
	return ""
}

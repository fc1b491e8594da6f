package sigma

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// CorrelatorOptions bound the correlator's memory and define lateness.
type CorrelatorOptions struct {
	// MaxGroups caps the number of live groups over all correlation rules;
	// when full, the least recently updated group is evicted and counted.
	// Zero means 1,000,000.
	MaxGroups int
	// Lateness is how far behind the newest event time an event may arrive
	// and still be correlated; later events are dropped and counted.
	Lateness time.Duration
}

// Alert is one firing of a correlation rule.
type Alert struct {
	Rule    *Rule             // the correlation rule
	GroupBy map[string]string // group-by field (or alias) → value
	Start   time.Time         // first event of the window that fired
	End     time.Time         // last event of the window that fired
	Value   float64           // the count, distinct count, sum, average, percentage or number of rules that met the condition
}

// CorrelatorStats counts what the correlator dropped.
type CorrelatorStats struct {
	Groups  int    // live groups
	Evicted uint64 // groups dropped because MaxGroups was reached
	Late    uint64 // events dropped for arriving later than Lateness
}

// Correlator evaluates correlation rules over the detection matches fed to
// it. It is safe for concurrent use; calls are serialised.
type Correlator struct {
	mu        sync.Mutex
	opts      CorrelatorOptions
	rules     []*corrRule
	byRef     map[*Rule][]*corrRule // referenced rule → correlations using it
	byID      map[string]*corrRule
	groups    map[string]*group
	lru       group // sentinel of the LRU list: lru.next is the most recent
	watermark int64 // newest event time seen, unix nanoseconds
	evicted   uint64
	late      uint64
	refOnly   map[*Rule]bool // rules referenced only by generate:false correlations
	keyBuf    []byte
}

// splitKey recovers the group-by values from a group key; they share the
// key's memory.
func splitKey(key string, prefix, n int) []string {
	out := make([]string, 0, n)
	rest := key[prefix:]
	for i := 0; i < n; i++ {
		rest = rest[1:]
		j := strings.IndexByte(rest, 0)
		if j < 0 {
			j = len(rest)
		}
		out = append(out, rest[:j])
		rest = rest[j:]
	}
	return out
}

type corrRule struct {
	idx   int
	rule  *Rule
	c     *Correlation
	refs  []*Rule // resolved references in written order
	key   string  // stable identity for snapshots
	span  int64
	alias map[string]map[*Rule]string // group-by name → referenced rule → field
}

// entry is one event remembered in a group.
type entry struct {
	T   int64
	R   int32 // index of the referenced rule that matched
	V   string
	N   float64
	Seq uint64
}

type group struct {
	key        string
	rule       *corrRule
	values     []string
	entries    []entry // sorted by T, then Seq
	prev, next *group
	seq        uint64
}

// NewCorrelator resolves the references of every correlation rule in rules
// (by id or name, over all of rules) and returns a correlator for them.
// Detection rules in rules are only reference targets.
func NewCorrelator(rules []*Rule, opts CorrelatorOptions) (*Correlator, error) {
	if opts.MaxGroups <= 0 {
		opts.MaxGroups = 1_000_000
	}
	idx := map[string]*Rule{}
	for _, r := range rules {
		if r.ID != "" {
			idx[r.ID] = r
		}
		if r.Name != "" {
			idx[r.Name] = r
		}
	}
	c := &Correlator{
		opts:    opts,
		byRef:   map[*Rule][]*corrRule{},
		byID:    map[string]*corrRule{},
		groups:  map[string]*group{},
		refOnly: map[*Rule]bool{},
	}
	c.lru.next, c.lru.prev = &c.lru, &c.lru
	generated := map[*Rule]bool{}
	var errs []error
	for _, r := range rules {
		if r.Correlation == nil {
			continue
		}
		cr := &corrRule{idx: len(c.rules), rule: r, c: r.Correlation, span: int64(r.Correlation.Timespan)}
		cr.key = r.ID
		if cr.key == "" {
			cr.key = r.Name
		}
		if cr.key == "" {
			cr.key = r.Title
		}
		ok := true
		for _, ref := range r.Correlation.Rules {
			t, found := idx[ref]
			if !found {
				errs = append(errs, fmt.Errorf("correlation %s (%s): unknown rule reference %q", r.Title, r.Path, ref))
				ok = false
				continue
			}
			cr.refs = append(cr.refs, t)
		}
		if !ok {
			continue
		}
		if len(r.Correlation.Aliases) > 0 {
			cr.alias = map[string]map[*Rule]string{}
			for alias, m := range r.Correlation.Aliases {
				cr.alias[alias] = map[*Rule]string{}
				for ref, field := range m {
					t, found := idx[ref]
					if !found {
						errs = append(errs, fmt.Errorf("correlation %s (%s): alias %s names unknown rule %q", r.Title, r.Path, alias, ref))
						continue
					}
					cr.alias[alias][t] = field
				}
			}
		}
		c.rules = append(c.rules, cr)
		if _, dup := c.byID[cr.key]; dup {
			errs = append(errs, fmt.Errorf("correlation %s (%s): duplicate identity %q", r.Title, r.Path, cr.key))
		}
		c.byID[cr.key] = cr
		for _, t := range cr.refs {
			if !containsCorr(c.byRef[t], cr) {
				c.byRef[t] = append(c.byRef[t], cr)
			}
			if r.Correlation.Generate {
				generated[t] = true
			}
		}
	}
	for t := range c.byRef {
		if !generated[t] {
			c.refOnly[t] = true
		}
	}
	return c, errors.Join(errs...)
}

func containsCorr(xs []*corrRule, x *corrRule) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Standalone reports whether matches of r should also raise alerts of their
// own: false when r is referenced only by correlations without generate.
func (c *Correlator) Standalone(r *Rule) bool { return !c.refOnly[r] }

// Stats returns the correlator's counters.
func (c *Correlator) Stats() CorrelatorStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CorrelatorStats{Groups: len(c.groups), Evicted: c.evicted, Late: c.late}
}

// Observe feeds one event with its time and the detection rules it matched
// (from Ruleset.Match) and returns the correlation alerts it completes.
// Alerts of correlations that other correlations reference are fed on to
// them, as events whose fields are the group-by values.
func (c *Correlator) Observe(e Event, t time.Time, matched []*Rule) []Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	ts := t.UnixNano()
	if ts > c.watermark {
		c.watermark = ts
	} else if c.watermark-ts > int64(c.opts.Lateness) {
		c.late++
		return nil
	}
	var out []Alert
	for _, r := range matched {
		out = c.observe(e, ts, r, out, 0)
	}
	c.expire()
	return out
}

func (c *Correlator) observe(e Event, ts int64, r *Rule, out []Alert, depth int) []Alert {
	if depth > 8 {
		return out // a reference cycle; the spec allows chains, not loops
	}
	for _, cr := range c.byRef[r] {
		a, ok := c.feed(cr, e, ts, r)
		if !ok {
			continue
		}
		out = append(out, a)
		if len(c.byRef[cr.rule]) > 0 {
			f := Fields{}
			for k, v := range a.GroupBy {
				f[k] = v
			}
			out = c.observe(f, a.End.UnixNano(), cr.rule, out, depth+1)
		}
	}
	return out
}

func (cr *corrRule) fieldFor(name string, r *Rule) string {
	if m, ok := cr.alias[name]; ok {
		if f, ok := m[r]; ok {
			return f
		}
	}
	return name
}

func (c *Correlator) feed(cr *corrRule, e Event, ts int64, r *Rule) (Alert, bool) {
	ri := int32(-1)
	for i, x := range cr.refs {
		if x == r {
			ri = int32(i)
			break
		}
	}
	// The key is built in a reused buffer; the map lookup with string(buf)
	// does not allocate, so only new groups cost memory.
	kb := append(c.keyBuf[:0], cr.key...)
	for _, g := range cr.c.GroupBy {
		v, _ := e.Get(cr.fieldFor(g, r))
		s, _ := stringOf(v)
		kb = append(kb, 0)
		kb = append(kb, s...)
	}
	c.keyBuf = kb
	en := entry{T: ts, R: ri}
	switch cr.c.Type {
	case ValueCount, ValuePercentile:
		v, ok := e.Get(cr.fieldFor(cr.c.Field, r))
		if !ok || v == nil {
			return Alert{}, false
		}
		en.V, _ = stringOf(v)
	case ValueSum, ValueAvg:
		v, ok := e.Get(cr.fieldFor(cr.c.Field, r))
		n, isNum := numberOf(v)
		if !ok || !isNum {
			return Alert{}, false
		}
		en.N = n
	}
	g := c.groups[string(kb)]
	if g == nil {
		if len(c.groups) >= c.opts.MaxGroups {
			c.evictOldest()
		}
		key := string(kb)
		g = &group{key: key, rule: cr, values: splitKey(key, len(cr.key), len(cr.c.GroupBy))}
		c.groups[key] = g
	} else {
		g.unlink()
	}
	c.pushFront(g)
	g.seq++
	en.Seq = g.seq
	g.insert(en)
	g.prune(c.watermark - cr.span - int64(c.opts.Lateness))
	return c.evaluate(g, en)
}

func (g *group) insert(en entry) {
	i := sort.Search(len(g.entries), func(i int) bool { return g.entries[i].T > en.T })
	g.entries = append(g.entries, entry{})
	copy(g.entries[i+1:], g.entries[i:])
	g.entries[i] = en
}

func (g *group) prune(before int64) {
	i := 0
	for i < len(g.entries) && g.entries[i].T < before {
		i++
	}
	if i > 0 {
		g.entries = append(g.entries[:0], g.entries[i:]...)
	}
}

// evaluate checks every window that contains the new entry: windows end at
// an entry time between en.T and en.T+span, so a late event is judged with
// the events that came after it too. On a hit the group starts afresh, so
// one burst raises one alert.
func (c *Correlator) evaluate(g *group, en entry) (Alert, bool) {
	cr := g.rule
	es := g.entries
	first := sort.Search(len(es), func(i int) bool { return es[i].T >= en.T })
	for endIdx := first; endIdx < len(es); endIdx++ {
		end := es[endIdx].T
		if end > en.T+cr.span {
			break
		}
		// Include every entry at the same instant as the window's end.
		for endIdx+1 < len(es) && es[endIdx+1].T == end {
			endIdx++
		}
		startIdx := sort.Search(endIdx+1, func(i int) bool { return es[i].T >= end-cr.span })
		win := es[startIdx : endIdx+1]
		val, ok := cr.measure(win, en)
		if !ok {
			continue
		}
		hit := true
		for _, th := range cr.c.Cond {
			if !th.holds(val) {
				hit = false
				break
			}
		}
		if !hit {
			continue
		}
		a := Alert{Rule: cr.rule, GroupBy: map[string]string{}, Start: time.Unix(0, win[0].T).UTC(), End: time.Unix(0, end).UTC(), Value: val}
		for i, f := range cr.c.GroupBy {
			a.GroupBy[f] = g.values[i]
		}
		g.entries = g.entries[:0]
		return a, true
	}
	return Alert{}, false
}

// measure computes the correlation's quantity over one window.
func (cr *corrRule) measure(win []entry, en entry) (float64, bool) {
	switch cr.c.Type {
	case EventCount:
		return float64(len(win)), true
	case ValueCount:
		if len(win) <= 16 {
			// Small windows: a quadratic scan beats allocating a map.
			n := 0
			for i, x := range win {
				dup := false
				for _, y := range win[:i] {
					if y.V == x.V {
						dup = true
						break
					}
				}
				if !dup {
					n++
				}
			}
			return float64(n), true
		}
		seen := make(map[string]struct{}, len(win))
		for _, x := range win {
			seen[x.V] = struct{}{}
		}
		return float64(len(seen)), true
	case ValueSum, ValueAvg:
		sum := 0.0
		for _, x := range win {
			sum += x.N
		}
		if cr.c.Type == ValueAvg {
			return sum / float64(len(win)), true
		}
		return sum, true
	case ValuePercentile:
		n := 0
		for _, x := range win {
			if x.V == en.V {
				n++
			}
		}
		return 100 * float64(n) / float64(len(win)), true
	case Temporal:
		var seen uint64
		n := 0
		for _, x := range win {
			if x.R >= 0 && x.R < 64 && seen&(1<<uint(x.R)) == 0 {
				seen |= 1 << uint(x.R)
				n++
			}
		}
		return float64(n), true
	case TemporalOrdered:
		// Longest prefix of the rule list that occurs in order.
		next := int32(0)
		for _, x := range win {
			if x.R == next {
				next++
				if int(next) == len(cr.refs) {
					break
				}
			}
		}
		return float64(next), true
	}
	return 0, false
}

func (g *group) unlink() {
	g.prev.next = g.next
	g.next.prev = g.prev
	g.prev, g.next = nil, nil
}

func (c *Correlator) pushFront(g *group) {
	g.prev = &c.lru
	g.next = c.lru.next
	c.lru.next.prev = g
	c.lru.next = g
}

func (c *Correlator) evictOldest() {
	g := c.lru.prev
	if g == &c.lru {
		return
	}
	g.unlink()
	delete(c.groups, g.key)
	c.evicted++
}

// expire drops groups whose newest entry is older than every window that
// could still use it. The LRU tail holds the least recently updated groups,
// so the scan stops at the first live one.
func (c *Correlator) expire() {
	for n := 0; n < 16; n++ {
		g := c.lru.prev
		if g == &c.lru {
			return
		}
		last := int64(0)
		if len(g.entries) > 0 {
			last = g.entries[len(g.entries)-1].T
		}
		if last >= c.watermark-g.rule.span-int64(c.opts.Lateness) && len(g.entries) > 0 {
			return
		}
		g.unlink()
		delete(c.groups, g.key)
	}
}

// snapshot is the serialised form of the correlator's state.
type snapshot struct {
	Version   int
	Watermark int64
	Evicted   uint64
	Late      uint64
	Groups    []snapGroup // least recently updated first
}

type snapGroup struct {
	Rule    string
	Key     string
	Values  []string
	Entries []entry
	Seq     uint64
}

// Snapshot serialises the correlator's state so that it can survive a
// restart; Restore reads it back into a correlator built from the same
// correlation rules.
func (c *Correlator) Snapshot() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := snapshot{Version: 1, Watermark: c.watermark, Evicted: c.evicted, Late: c.late}
	for g := c.lru.prev; g != &c.lru; g = g.prev {
		s.Groups = append(s.Groups, snapGroup{Rule: g.rule.key, Key: g.key, Values: g.values, Entries: g.entries, Seq: g.seq})
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&s); err != nil {
		return nil, fmt.Errorf("snapshot correlator: %w", err)
	}
	return buf.Bytes(), nil
}

// Restore replaces the correlator's state with a snapshot. Groups of
// correlation rules that no longer exist are dropped and counted in the
// returned number.
func (c *Correlator) Restore(b []byte) (dropped int, err error) {
	var s snapshot
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&s); err != nil {
		return 0, fmt.Errorf("restore correlator: %w", err)
	}
	if s.Version != 1 {
		return 0, fmt.Errorf("restore correlator: unsupported snapshot version %d", s.Version)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.groups = map[string]*group{}
	c.lru.next, c.lru.prev = &c.lru, &c.lru
	c.watermark, c.evicted, c.late = s.Watermark, s.Evicted, s.Late
	for _, sg := range s.Groups {
		cr, ok := c.byID[sg.Rule]
		if !ok || len(sg.Values) != len(cr.c.GroupBy) {
			dropped++
			continue
		}
		g := &group{key: sg.Key, rule: cr, values: sg.Values, entries: sg.Entries, seq: sg.Seq}
		c.groups[g.key] = g
		c.pushFront(g)
	}
	return dropped, nil
}

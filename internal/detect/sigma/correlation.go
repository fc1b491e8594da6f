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
	mu    sync.Mutex
	opts  CorrelatorOptions
	rules []*corrRule
	byRef map[*Rule][]*corrRule // referenced rule → correlations using it
	byID  map[string]*corrRule
	// Groups live in one slab and link by index, so a million groups are a
	// few large allocations that the garbage collector scans quickly.
	// slab[0] is the LRU sentinel: slab[0].next is the most recent group.
	slab []group
	free []int32
	live int
	// Correlations fed by the same rule and grouping by the same event
	// fields share one key lookup per event: keys maps signature+values to
	// an index in keySlab, whose slots list each correlation's group.
	batches   map[*Rule][]*batch
	keys      map[string]int32
	keySlab   []keyEntry
	keyFree   []int32
	watermark int64 // newest event time seen, unix nanoseconds
	evicted   uint64
	late      uint64
	refOnly   map[*Rule]bool // rules referenced only by generate:false correlations
	keyBuf    []byte
}

// splitKey recovers the group-by values from a group key; they share the
// key's memory.
func splitKey(key string, n int) []string {
	if i := strings.IndexByte(key, 2); i >= 0 {
		key = key[i+1:]
	}
	out := strings.SplitN(key, "\x00", n)
	for len(out) < n {
		out = append(out, "")
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

// batch is the correlations that one referenced rule feeds and that read
// the same group-by fields from its events.
type batch struct {
	sig    string // resolved field names joined by \x01, ended by \x02
	fields []string
	rules  []*corrRule
}

type keyEntry struct {
	key   string // batch signature followed by the group-by values joined by NUL
	slots []slot
}

type slot struct{ rule, group int32 }

// entry is one event remembered in a group.
type entry struct {
	T int64
	R int32 // index of the referenced rule that matched
	V string
	N float64
}

type group struct {
	keyIdx     int32   // index into Correlator.keySlab
	rule       int32   // index into Correlator.rules; -1 when free
	entries    []entry // sorted by T, then arrival
	prev, next int32
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
		slab:    []group{{rule: -1}},
		batches: map[*Rule][]*batch{},
		keys:    map[string]int32{},
		refOnly: map[*Rule]bool{},
	}
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
	for _, cr := range c.rules {
		for _, t := range cr.refs {
			fields := make([]string, len(cr.c.GroupBy))
			for i, g := range cr.c.GroupBy {
				fields[i] = cr.fieldFor(g, t)
			}
			sig := strings.Join(fields, "\x01") + "\x02"
			var b *batch
			for _, x := range c.batches[t] {
				if x.sig == sig {
					b = x
				}
			}
			if b == nil {
				b = &batch{sig: sig, fields: fields}
				c.batches[t] = append(c.batches[t], b)
			}
			if !containsCorr(b.rules, cr) {
				b.rules = append(b.rules, cr)
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
	return CorrelatorStats{Groups: c.live, Evicted: c.evicted, Late: c.late}
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
	first := len(out)
	for _, b := range c.batches[r] {
		// Make room first, so that no eviction frees the key entry in use.
		for c.live+len(b.rules) > c.opts.MaxGroups && c.live > 0 {
			c.evictOldest()
		}
		// The key is built in a reused buffer; the map lookup with
		// string(buf) does not allocate, so only new keys cost memory.
		kb := append(c.keyBuf[:0], b.sig...)
		for i, f := range b.fields {
			v, _ := e.Get(f)
			s, _ := stringOf(v)
			if i > 0 {
				kb = append(kb, 0)
			}
			kb = append(kb, s...)
		}
		c.keyBuf = kb
		ki, ok := c.keys[string(kb)]
		if !ok {
			ki = c.newKey(string(kb))
		}
		for _, cr := range b.rules {
			if a, ok := c.feed(cr, e, ts, r, ki); ok {
				out = append(out, a)
			}
		}
		if len(c.keySlab[ki].slots) == 0 {
			c.freeKey(ki)
		}
	}
	// Chained correlations see the alerts after this event is settled.
	n := len(out)
	for i := first; i < n; i++ {
		a := out[i]
		if len(c.byRef[a.Rule]) == 0 {
			continue
		}
		f := Fields{}
		for k, v := range a.GroupBy {
			f[k] = v
		}
		out = c.observe(f, a.End.UnixNano(), a.Rule, out, depth+1)
	}
	return out
}

func (c *Correlator) newKey(key string) int32 {
	var ki int32
	if n := len(c.keyFree); n > 0 {
		ki = c.keyFree[n-1]
		c.keyFree = c.keyFree[:n-1]
		c.keySlab[ki] = keyEntry{key: key}
	} else {
		c.keySlab = append(c.keySlab, keyEntry{key: key})
		ki = int32(len(c.keySlab) - 1)
	}
	c.keys[key] = ki
	return ki
}

func (c *Correlator) freeKey(ki int32) {
	delete(c.keys, c.keySlab[ki].key)
	c.keySlab[ki] = keyEntry{}
	c.keyFree = append(c.keyFree, ki)
}

func (cr *corrRule) fieldFor(name string, r *Rule) string {
	if m, ok := cr.alias[name]; ok {
		if f, ok := m[r]; ok {
			return f
		}
	}
	return name
}

func (c *Correlator) feed(cr *corrRule, e Event, ts int64, r *Rule, ki int32) (Alert, bool) {
	ri := int32(-1)
	for i, x := range cr.refs {
		if x == r {
			ri = int32(i)
			break
		}
	}
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
	gi := int32(-1)
	for _, sl := range c.keySlab[ki].slots {
		if sl.rule == int32(cr.idx) {
			gi = sl.group
			break
		}
	}
	if gi < 0 {
		gi = c.alloc(ki, int32(cr.idx))
		c.keySlab[ki].slots = append(c.keySlab[ki].slots, slot{rule: int32(cr.idx), group: gi})
	} else {
		c.unlink(gi)
	}
	c.pushFront(gi)
	g := &c.slab[gi]
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
	cr := c.rules[g.rule]
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
		values := splitKey(c.keySlab[g.keyIdx].key, len(cr.c.GroupBy))
		for i, f := range cr.c.GroupBy {
			a.GroupBy[f] = values[i]
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

func (c *Correlator) alloc(ki int32, rule int32) int32 {
	var gi int32
	if n := len(c.free); n > 0 {
		gi = c.free[n-1]
		c.free = c.free[:n-1]
	} else {
		c.slab = append(c.slab, group{})
		gi = int32(len(c.slab) - 1)
	}
	c.slab[gi] = group{keyIdx: ki, rule: rule}
	c.live++
	return gi
}

func (c *Correlator) release(gi int32) {
	g := &c.slab[gi]
	k := &c.keySlab[g.keyIdx]
	for i, sl := range k.slots {
		if sl.group == gi {
			k.slots = append(k.slots[:i], k.slots[i+1:]...)
			break
		}
	}
	if len(k.slots) == 0 {
		c.freeKey(g.keyIdx)
	}
	*g = group{rule: -1}
	c.free = append(c.free, gi)
	c.live--
}

func (c *Correlator) unlink(gi int32) {
	g := &c.slab[gi]
	c.slab[g.prev].next = g.next
	c.slab[g.next].prev = g.prev
	g.prev, g.next = 0, 0
}

func (c *Correlator) pushFront(gi int32) {
	g := &c.slab[gi]
	g.prev = 0
	g.next = c.slab[0].next
	c.slab[c.slab[0].next].prev = gi
	c.slab[0].next = gi
}

func (c *Correlator) evictOldest() {
	gi := c.slab[0].prev
	if gi == 0 {
		return
	}
	c.unlink(gi)
	c.release(gi)
	c.evicted++
}

// expire drops groups whose newest entry is older than every window that
// could still use it. The LRU tail holds the least recently updated groups,
// so the scan stops at the first live one.
func (c *Correlator) expire() {
	for n := 0; n < 16; n++ {
		gi := c.slab[0].prev
		if gi == 0 {
			return
		}
		g := &c.slab[gi]
		if len(g.entries) > 0 && g.entries[len(g.entries)-1].T >= c.watermark-c.rules[g.rule].span-int64(c.opts.Lateness) {
			return
		}
		c.unlink(gi)
		c.release(gi)
	}
}

// snapshot is the serialised form of the correlator's state.
type snapshot struct {
	Version   int // 3: keys are batch signature + group-by values
	Watermark int64
	Evicted   uint64
	Late      uint64
	Groups    []snapGroup // least recently updated first
}

type snapGroup struct {
	Rule    string
	Key     string
	Entries []entry
}

// Snapshot serialises the correlator's state so that it can survive a
// restart; Restore reads it back into a correlator built from the same
// correlation rules.
func (c *Correlator) Snapshot() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := snapshot{Version: 3, Watermark: c.watermark, Evicted: c.evicted, Late: c.late}
	for gi := c.slab[0].prev; gi != 0; gi = c.slab[gi].prev {
		g := &c.slab[gi]
		s.Groups = append(s.Groups, snapGroup{Rule: c.rules[g.rule].key, Key: c.keySlab[g.keyIdx].key, Entries: g.entries})
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
	if s.Version != 3 {
		return 0, fmt.Errorf("restore correlator: unsupported snapshot version %d", s.Version)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slab = []group{{rule: -1}}
	c.free, c.live = nil, 0
	c.keys, c.keySlab, c.keyFree = map[string]int32{}, nil, nil
	c.watermark, c.evicted, c.late = s.Watermark, s.Evicted, s.Late
	for _, sg := range s.Groups {
		cr, ok := c.byID[sg.Rule]
		if !ok {
			dropped++
			continue
		}
		ki, ok := c.keys[sg.Key]
		if !ok {
			ki = c.newKey(sg.Key)
		}
		gi := c.alloc(ki, int32(cr.idx))
		c.slab[gi].entries = sg.Entries
		c.keySlab[ki].slots = append(c.keySlab[ki].slots, slot{rule: int32(cr.idx), group: gi})
		c.pushFront(gi)
	}
	return dropped, nil
}

package intel

import "sync"

// Set is an in-memory collection of indicators keyed by Key, merging
// reports of the same indicator. It is what an import writes to before
// storage exists, the source of exports and block lists in tests, and a
// reference for storage implementations. It is safe for concurrent use.
type Set struct {
	mu    sync.Mutex
	index map[string]int
	items []*Indicator // pointers: growing a slice of large structs copies them all
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{index: map[string]int{}} }

// Upsert adds ind, or merges it into the indicator with the same key, and
// reports whether it was added (true) or updated (false). It keeps ind's
// slices; the caller must not modify them afterwards.
func (s *Set) Upsert(ind Indicator) (added bool, err error) {
	if err := ind.Validate(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := ind.Key()
	if i, ok := s.index[k]; ok {
		s.items[i].Merge(&ind)
		return false, nil
	}
	s.index[k] = len(s.items)
	s.items = append(s.items, &ind)
	return true, nil
}

// Len returns the number of distinct indicators.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

// All returns a copy of the indicators in insertion order.
func (s *Set) All() []Indicator {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Indicator, len(s.items))
	for i, p := range s.items {
		out[i] = *p
	}
	return out
}

// Get returns the indicator with the given key.
func (s *Set) Get(key string) (Indicator, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[key]
	if !ok {
		return Indicator{}, false
	}
	return *s.items[i], true
}

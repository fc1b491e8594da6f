package sigma

import "github.com/tansa-sec/tansa/internal/tansa"

// Event is the read side of an event as the engine needs it. *tansa.Event
// satisfies it.
//
// Get returns the value of a field and whether it is present. Values are
// string, int64, float64, bool, []string or nil; other types are compared by
// their fmt.Sprint text.
type Event interface {
	Get(name string) (any, bool)
}

// FieldWalker is implemented by events that can list their fields; the
// engine needs it for keyword (unfielded) searches. Events that do not
// implement it are searched through their Fields map when they are
// *tansa.Event, and otherwise never match keywords.
type FieldWalker interface {
	WalkFields(fn func(name string, value any) bool)
}

// Fields is a plain map event, handy for tests and for callers that do not
// use tansa.Event.
type Fields map[string]any

// Get returns f[name].
func (f Fields) Get(name string) (any, bool) {
	v, ok := f[name]
	return v, ok
}

// WalkFields calls fn for every field until fn returns false.
func (f Fields) WalkFields(fn func(string, any) bool) {
	for k, v := range f {
		if !fn(k, v) {
			return
		}
	}
}

var (
	_ Event       = (*tansa.Event)(nil)
	_ FieldWalker = Fields(nil)
)

// walkValues calls fn for every field value of e until fn returns false.
// Events that are neither FieldWalkers nor *tansa.Event have no values to
// walk.
func walkValues(e Event, fn func(any) bool) {
	switch x := e.(type) {
	case FieldWalker:
		x.WalkFields(func(_ string, v any) bool { return fn(v) })
	case *tansa.Event:
		for _, v := range x.Fields {
			if !fn(v) {
				return
			}
		}
	}
}

package events

import (
	"regexp"
	"strings"

	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// fieldNameRE is what a field name may look like; a name outside it cannot
// be in any store, and refusing it keeps it out of every query language.
var fieldNameRE = regexp.MustCompile(`^[A-Za-z0-9_.@\-]{1,128}$`)

// CheckField refuses a filter or top-values field that is not a field name.
// Every event store applies it, so all engines answer alike.
func CheckField(field string) error {
	if !fieldNameRE.MatchString(field) {
		return tansa.Errorf(tansa.Invalid, "field %q: names are letters, digits and . _ @ -", field)
	}
	return nil
}

// ObservableValue puts a searched value in the observable index's normal
// form (lower-case domains, canonical addresses, refanged URLs…), the form
// normalize.Observables stored it in. A value that is not exactly one
// observable is looked up as written, trimmed.
func ObservableValue(v string) string {
	ev := tansa.Event{Format: normalize.Raw, Raw: []byte(v), Fields: map[string]any{"message": v}}
	if obs := normalize.Observables(&ev); len(obs) == 1 {
		return obs[0].Value
	}
	return strings.TrimSpace(v)
}

package winevt

import (
	"encoding/json"
	"testing"

	"github.com/Velocidex/ordereddict"
)

// appendJSON writes what encoding/json writes for the library's trees.
func TestAppendJSON(t *testing.T) {
	inner := ordereddict.NewDict().Set("Data", []any{"a<b>&\"c\"\\", uint64(18446744073709551615), int64(-3), 1.5, nil, true}).
		Set("Bad", "x\xffy\u2028\x01\t")
	root := ordereddict.NewDict().Set("Event", ordereddict.NewDict().Set("System", inner).Set("Empty", ordereddict.NewDict()).Set("F", 2.0).Set("L", []any{}))
	want, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendJSON(nil, root); string(got) != string(want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

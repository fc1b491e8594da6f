package normalize_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the parsers' current output")

// TestGolden parses every line of testdata/dispatch.txt, one per format the
// dispatcher knows, and compares the whole event (format, time, error,
// every field and the observables) with testdata/dispatch.golden. Run
// "go test -run TestGolden -update" after an intended change and review
// the diff.
func TestGolden(t *testing.T) {
	in, err := os.ReadFile("testdata/dispatch.txt")
	if err != nil {
		t.Fatal(err)
	}
	p := normalize.NewParser(nil)
	var out bytes.Buffer
	for _, line := range strings.Split(strings.TrimSuffix(string(in), "\n"), "\n") {
		ev := p.Parse([]byte(line), "", received)
		rec := struct {
			Format      string                 `json:"format"`
			Time        string                 `json:"time"`
			ParseError  string                 `json:"parse_error,omitempty"`
			Fields      map[string]any         `json:"fields"`
			Observables []normalize.Observable `json:"observables"`
		}{ev.Format, ev.Time.UTC().Format(time.RFC3339Nano), ev.ParseError, ev.Fields, normalize.Observables(ev)}
		b, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString("### " + line + "\n")
		out.Write(b)
		out.WriteString("\n\n")
	}
	if *update {
		if err := os.WriteFile("testdata/dispatch.golden", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("testdata/dispatch.golden")
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		gotRecs, wantRecs := strings.Split(out.String(), "### "), strings.Split(string(want), "### ")
		for i := range min(len(gotRecs), len(wantRecs)) {
			if gotRecs[i] != wantRecs[i] {
				t.Errorf("record differs from testdata/dispatch.golden (run with -update if intended):\ngot:\n%s\nwant:\n%s", gotRecs[i], wantRecs[i])
			}
		}
		if len(gotRecs) != len(wantRecs) {
			t.Errorf("%d records, golden file has %d", len(gotRecs)-1, len(wantRecs)-1)
		}
	}
}

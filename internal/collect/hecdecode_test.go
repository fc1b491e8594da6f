package collect

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// decodeBoth reads body with hecEventReader and with a json.Decoder, the
// reader it replaces, and fails when they disagree on any event or on
// where the body stops being valid.
func decodeBoth(t *testing.T, body []byte) {
	t.Helper()
	r := hecEventReader{b: body}
	dec := json.NewDecoder(bytes.NewReader(body))
	for i := 0; ; i++ {
		got, eof, gerr := r.next()
		var want hecEvent
		werr := dec.Decode(&want)
		weof := errors.Is(werr, io.EOF)
		if eof != weof || (gerr != nil) != (werr != nil && !weof) {
			t.Fatalf("%q event %d: reader eof=%v err=%v, json.Decoder err=%v", body, i, eof, gerr, werr)
		}
		if eof || gerr != nil {
			return
		}
		norm := func(e *hecEvent) {
			for _, m := range []*json.RawMessage{&e.Time, &e.Event, &e.Fields} {
				if len(*m) == 0 {
					*m = nil
				}
			}
		}
		norm(&got)
		norm(&want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q event %d:\n got %+v\nwant %+v", body, i, got, want)
		}
	}
}

func TestHECEventReader(t *testing.T) {
	for _, s := range []string{
		``, ` `, `{"event":"x"}`, `{"event":{"a":[1,2.5e3,true,null]},"time":1700000000.5,"host":"h","source":"s","sourcetype":"winevt","index":"main"}`,
		`{"event":"a"}{"event":"b"}` + "\n" + `{"event":"c"}`, `{"Event":"x","HOST":"y"}`, `{"event":"x","host":"\u00e9"}`,
		`{"event":"x","host":5}`, `{"event":"x","host":null}`, `{"event":"x","other":1}`, `{"event":"x","event":"y"}`,
		`[1]`, `"str"`, `null`, `5`, `{"event":"x"} }`, `{"event":01}`, `{"event":"\q"}`, `{"event":"\u12"}`,
		"{\"event\":\"\xff\"}", `{"event":"x",}`, `{"event" "x"}`, `{"event":tru}`, `{"event":{"a":}}`, `{ "event" : [ ] , "fields" : { } }`,
		`{"time":"1700000000","event":"x"}`, `{"event":"x","host":"a\tb"}`, "{\"event\":\"x\",\"host\":\"caf\xc3\xa9\"}",
	} {
		decodeBoth(t, []byte(s))
	}
}

func FuzzHECEventReader(f *testing.F) {
	f.Add([]byte(`{"event":{"Event":{"System":{"EventID":{"Value":4624}}}},"sourcetype":"winevt","source":"file:a.evtx"}{"event":"x","time":"1.5"}`))
	f.Add([]byte(`{"event":"x","fields":{"a":"b"},"host":"h","index":"i"} [] {"EVENT":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeBoth(t, b)
	})
}

// TestHECEventReaderDepth holds the reader to encoding/json's nesting
// limit, which counts open containers (at most 10000), not the depth of a
// scalar: an event whose innermost value is a number inside the 10000th
// container is valid, one with 10001 containers is not.
func TestHECEventReaderDepth(t *testing.T) {
	nest := func(arrays int) []byte {
		return []byte(`{"event":` + strings.Repeat("[", arrays) + `1` + strings.Repeat("]", arrays) + `}`)
	}
	for _, arrays := range []int{9998, 9999, 10000} {
		body := nest(arrays)
		decodeBoth(t, body)
		r := hecEventReader{b: body}
		_, _, err := r.next()
		if want := arrays < 10000; (err == nil) != want {
			t.Fatalf("%d arrays inside the object: err=%v, want accepted=%v", arrays, err, want)
		}
	}
	for _, containers := range []int{10000, 10001} {
		body := []byte(`{"event":` + strings.Repeat("[", containers-1) + strings.Repeat("]", containers-1) + `}`)
		decodeBoth(t, body)
	}
}

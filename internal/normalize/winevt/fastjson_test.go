package winevt

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// stdDecode is what decodeObject must agree with: encoding/json's Decoder
// with UseNumber, one value into a map.
func stdDecode(b []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, false
	}
	return doc, true
}

func checkDecodeObject(t *testing.T, b []byte) {
	t.Helper()
	got, gok := decodeObject(b)
	want, wok := stdDecode(b)
	if gok != wok {
		// A document encoding/json refuses must be refused; one it reads
		// may be left to it only when it is not an object at the start.
		if gok || bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{")) {
			t.Fatalf("%q: decodeObject ok=%v, encoding/json ok=%v", b, gok, wok)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", b, got, want)
	}
}

func TestDecodeObject(t *testing.T) {
	for _, s := range []string{
		`{}`, ` {"a":1} trailing`, `{"a":{"b":[1,-2.5e+3,"x",true,false,null,{}]}}`,
		`{"a":1,"a":{"b":2}}`, `{"s":"\u00e9\ud83d\ude00\ud800x\udc00\\\/\b\f\n\r\t\""}`,
		"{\"bad\":\"\xff\xfe ok \xe2\x82\"}", `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`,
		`{"a":tru}`, `{"a":1,}`, `[1]`, `null`, `{"a"}`, "{\"a\":\"\x01\"}", `{"a":"\x"}`,
		`{"a":"\u12"}`, `{"a":[1,]}`, `{"a":nul`, `{`, ``, `{"a":"\ud800\u0041"}`,
	} {
		checkDecodeObject(t, []byte(s))
	}
	for _, n := range []string{"winlogbeat.json", "nxlog.json", "sentinel.json", "eventxml.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		checkDecodeObject(t, b)
	}
}

// FuzzDecodeObject holds decodeObject to encoding/json's results.
func FuzzDecodeObject(f *testing.F) {
	for _, n := range []string{"winlogbeat.json", "nxlog.json", "sentinel.json", "eventxml.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"s":"\ud83d\ude00\ud800","n":-0.5E-7,"a":[{},[]],"a":null}`))
	f.Add([]byte("{\"x\":\"\xed\xa0\x80\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecodeObject(t, b)
	})
}

// TestDecodeObjectEVTX compares the two decoders on every shared record's
// JSON rendering.
func TestDecodeObjectEVTX(t *testing.T) {
	for _, d := range evtxJSON(t) {
		checkDecodeObject(t, d)
	}
}

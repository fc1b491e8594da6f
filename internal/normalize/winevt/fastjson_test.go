package winevt

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
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

// checkDirect holds eventXMLDirect to the general path: when it reads a
// document, the fields and time are those eventXMLFields gives.
func checkDirect(t *testing.T, b []byte) {
	t.Helper()
	got := map[string]any{}
	gt, ok := eventXMLDirect(b, got)
	if !ok {
		return
	}
	doc, ok := decodeObject(b)
	if !ok || DetectLayout(doc) != LayoutEventXML {
		t.Fatalf("%q: read directly, but the general path finds layout %q (decoded %v)", b, DetectLayout(doc), ok)
	}
	// Lifting EventData/UserData is the same call on both paths; where it
	// writes one name twice from different maps its result depends on map
	// order on both, so such documents are not compared.
	names := map[string]int{}
	for k, v := range doc["Event"].(map[string]any) {
		if k != "System" && k != "#attributes" {
			liftNames(v, names)
		}
	}
	for _, n := range names {
		if n > 1 {
			return
		}
	}
	want := map[string]any{}
	wt := eventXMLFields(doc["Event"].(map[string]any), want)
	if !reflect.DeepEqual(got, want) || !gt.Equal(wt) {
		t.Fatalf("%q:\n got %v %#v\nwant %v %#v", b, gt, got, wt, want)
	}
}

func TestEventXMLDirect(t *testing.T) {
	n := 0
	for _, d := range evtxJSON(t) {
		checkDirect(t, d)
		if _, ok := eventXMLDirect(d, map[string]any{}); ok {
			n++
		}
	}
	// The reader's own rendering is what the direct path is for.
	if n == 0 {
		t.Fatal("no shared record was read directly")
	}
	for _, s := range []string{
		`{"Event":{"System":{"EventID":{"Value":1,"Qualifiers":2},"A":{"x":1},"A":{"y":2}}}}`,
		`{"Event":{"System":{"A_x":1,"A":{"x":2}},"EventData":{"B C":1,"BC":2}}}`,
		`{"Event":{"System":{},"EventData":{"a":1},"UserData":{"b":{"c":2}}}}`,
		`{"Event":{"System":{"TimeCreated":{"SystemTime":1700000000.25}},"EventData":{"Data":[1,"x"]}}}`,
		`{"Event":{"System":{"TimeCreated":{"SystemTime":"2023-01-02T03:04:05.123456Z"}}},"x":1}`,
		`{"Event":{"System":{"A":-12,"B":9223372036854775807,"C":9223372036854775808,"D":-0,"E":1e2,"F":{"G":-999999999999999999,"H":0.5}}}}`,
		`{"Event":{"System":5}}`, `{"Event":{"EventData":{}}}`, `{"Event":{"System":{"A":{"#text":"t"}}}}`,
		`{"Event":{"System":{"A":{"B":{"c":1}}},"#attributes":{"xmlns":"x"}}}`,
	} {
		checkDirect(t, []byte(s))
	}
}

func FuzzEventXMLDirect(f *testing.F) {
	f.Add([]byte(`{"Event":{"System":{"EventID":{"Value":4624,"Qualifiers":null},"TimeCreated":{"SystemTime":1.7e9},"Channel":"Security"},"EventData":{"Target User":"a","Data":["x",1]}}}`))
	f.Add([]byte(`{"Event":{"System":{"Provider":{"Name":"p","Guid":"g"}},"UserData":{"X":{"a":"b"}},"#attributes":{}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDirect(t, b)
	})
}

// liftNames counts the names liftObject writes for v.
func liftNames(v any, names map[string]int) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for k, c := range m {
		switch _, isMap := c.(map[string]any); {
		case k == "#attributes":
		case k == "Data" || k == "#text":
			names["Data"]++
		case isMap:
			liftNames(c, names)
		default:
			names[k]++
			if short := strings.ReplaceAll(k, " ", ""); short != k {
				names[short]++
			}
		}
	}
}

// TestDecodeObjectDepth holds decodeObject to encoding/json's nesting
// limit, which counts open containers (at most 10000): a scalar inside the
// 10000th container is read, a 10001st container is refused.
func TestDecodeObjectDepth(t *testing.T) {
	for _, arrays := range []int{9998, 9999, 10000} {
		b := []byte(`{"event":` + strings.Repeat("[", arrays) + `1` + strings.Repeat("]", arrays) + `}`)
		checkDecodeObject(t, b)
		if _, ok := decodeObject(b); ok != (arrays < 10000) {
			t.Fatalf("%d arrays inside the object: ok=%v, want %v", arrays, ok, arrays < 10000)
		}
	}
	for _, containers := range []int{10000, 10001} {
		b := []byte(`{"a":` + strings.Repeat("[", containers-1) + strings.Repeat("]", containers-1) + `}`)
		checkDecodeObject(t, b)
		if _, ok := decodeObject(b); ok != (containers <= 10000) {
			t.Fatalf("%d containers: ok=%v, want %v", containers, ok, containers <= 10000)
		}
	}
}

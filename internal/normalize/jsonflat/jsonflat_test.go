package jsonflat_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/normalize/jsonflat"
	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
)

func TestFlatten(t *testing.T) {
	in := `{"s":"x","i":42,"f":1.5,"big":12345678901234567890,"t":true,"n":null,"o":{"a":{"b":"c"}},
		"list":["a",1,true,null],"empty":[],"params":[{"Name":"Force","Value":"True"},{"Name":"Mode"}],
		"objs":[{"k":"v"},{"k":"w","x":1}],"nested":[[1,2],["a"]],"id.orig_h":"10.0.0.1","u":"\u65e5\u672c"}`
	f := map[string]any{}
	if err := jsonflat.Flatten(in, "", f); err != nil {
		t.Fatal(err)
	}
	normalizetest.CheckValues(t, f)
	want := map[string]any{
		"s": "x", "i": int64(42), "f": 1.5, "big": 12345678901234567890.0, "t": true, "n": nil, "o.a.b": "c",
		"list": []string{"a", "1", "true", ""}, "empty": []string{}, "params.Force": "True", "params.Mode": nil,
		"objs.0.k": "v", "objs.1.k": "w", "objs.1.x": int64(1), "nested.0": []string{"1", "2"}, "nested.1": []string{"a"},
		"id.orig_h": "10.0.0.1", "u": "日本",
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("Flatten =\n%#v\nwant\n%#v", f, want)
	}
}

func TestFlattenErrors(t *testing.T) {
	for in, want := range map[string]string{
		`[1]`:             "not an object [offset 0]",
		` `:               "not an object [offset 1]",
		`{"a":01}`:        "leading zero [offset 7]",
		`{"a":"\x"}`:      `invalid escape \x`,
		`{"a":tru}`:       "invalid literal",
		`{"a":1} {"b":2}`: "more than one value in the record",
		`{"a":}`:          "json: ",
		`{"a":[1,`:        "json: ",
		``:                "json: ",
	} {
		err := jsonflat.Flatten(in, "", map[string]any{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Flatten(%q) error = %v, want it to contain %q", in, err, want)
		}
	}
}

func FuzzFlatten(f *testing.F) {
	f.Add([]byte(`{"a":{"b":[{"Name":"x","Value":1},{"c":[1,[2]]}]},"d":null}`))
	f.Add([]byte(`{"_path":"dns","answers":["a","b"],"TTLs":[1.0,2.0]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := map[string]any{}
		err := jsonflat.Flatten(string(data), "p.", m)
		normalizetest.CheckValues(t, m)
		if err == nil && !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if err != nil && json.Valid(data) && bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{")) && !strings.Contains(err.Error(), "nested deeper") {
			t.Fatalf("rejected valid JSON %q: %v", data, err)
		}
	})
}

func BenchmarkFlatten(b *testing.B) {
	doc := `{"_path":"dns","ts":"2018-03-24T17:15:20.865716Z","uid":"CqKst53mF3det3eDV9","id.orig_h":"10.47.1.100","id.orig_p":41772,"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","trans_id":36329,"rtt":0.0008699893951416016,"query":"ise.wrccdc.org","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"answers":["ise.wrccdc.cpp.edu","134.71.3.16"],"TTLs":[2230.0,41830.0],"rejected":false}`
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		if err := jsonflat.Flatten(doc, "", make(map[string]any, 32)); err != nil {
			b.Fatal(err)
		}
	}
	normalizetest.ReportRate(b, cpu0)
}

package jsonflat_test

import (
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
	if err := jsonflat.Flatten([]byte(in), "", f); err != nil {
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
		`{"a":1} {"b":2}`: "more than one value in the record",
		`{"a":}`:          "json: ",
		`{"a":[1,`:        "json: ",
		``:                "json: ",
	} {
		err := jsonflat.Flatten([]byte(in), "", map[string]any{})
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
		_ = jsonflat.Flatten(data, "p.", m)
		normalizetest.CheckValues(t, m)
	})
}

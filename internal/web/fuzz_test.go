package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"testing"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// decodeTargets makes a fresh value of every type the API decodes a request
// body into.
var decodeTargets = map[string]func() any{
	"TenantInput":  func() any { return new(access.TenantInput) },
	"UserInput":    func() any { return new(access.UserInput) },
	"TokenInput":   func() any { return new(access.TokenInput) },
	"PrefsInput":   func() any { return new(access.PrefsInput) },
	"resetBody":    func() any { return new(resetBody) },
	"passwordBody": func() any { return new(passwordBody) },
}

// FuzzDecodeJSON checks that no request body makes decodeJSON panic, that
// every refusal is an Invalid or TooLarge error with a message, and that
// what it accepts survives a round trip.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"Sakura Trading","country":"JP","language":"ja","time_zone":"Asia/Tokyo","contacts":[{"name":"CSIRT","email":"csirt@example.com"}]}`,
		`{"username":"alice","name":"Alice","email":"a@example.com","role":"tenant-admin","tenant_id":"t1","tenants":["a","b"],"disabled":true,"password":"correct-horse-1"}`,
		`{"name":"shipper","role":"ingest","tenant_id":"t1","expires_in":"720h"}`,
		`{"name":"x","email":"","language":"en","time_zone":"UTC"}`,
		`{"current":"old-password-1","password":"new-password-12"}`,
		`{"password":""}`,
		`{}`, `null`, `[]`, `""`, `0`, ``, ` `, `{`, `}`, `{"name":`, `{"name":1}`, `{"name":"x"} {}`, `{"name":"x"}garbage`,
		`{"colour":"red"}`, `{"contacts":[{"name":[]}]}`, `{"tenants":{"a":1}}`, `{"disabled":"yes"}`,
		`{"name":"\ud800"}`, "{\"name\":\"\xff\"}", `{"name":"x","name":"y"}`, `{"NAME":"case"}`,
		`{"name":1e999}`, `{"tenants":[` + string(bytes.Repeat([]byte(`"t",`), 50)) + `"t"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for name, mk := range decodeTargets {
			v := mk()
			err := decodeJSON(bytes.NewReader(body), v)
			checkDecodeErr(t, name, body, err)
			if err == nil {
				// What was accepted encodes and decodes to the same value.
				b, merr := json.Marshal(v)
				if merr != nil {
					t.Fatalf("%s: accepted %q but cannot encode it: %v", name, body, merr)
				}
				v2 := mk()
				if err := decodeJSON(bytes.NewReader(b), v2); err != nil {
					t.Fatalf("%s: accepted %q but not its own encoding %s: %v", name, body, b, err)
				}
				if !reflect.DeepEqual(v, v2) {
					t.Fatalf("%s: %q round-trips to a different value:\n%#v\n%#v", name, body, v, v2)
				}
			}
			// The same body through a small size limit, as the HTTP edge
			// reads it.
			limited := http.MaxBytesReader(nil, io.NopCloser(bytes.NewReader(body)), 64)
			err = decodeJSON(limited, mk())
			checkDecodeErr(t, name+" (limited)", body, err)
			if len(body) <= 64 && err != nil && tansa.KindOf(err) == tansa.TooLarge {
				t.Fatalf("%s: %d-byte body refused as too large for a 64-byte limit", name, len(body))
			}
		}
	})
}

func checkDecodeErr(t *testing.T, name string, body []byte, err error) {
	t.Helper()
	if err == nil {
		return
	}
	switch tansa.KindOf(err) {
	case tansa.Invalid, tansa.TooLarge:
	default:
		t.Fatalf("%s: body %q: error %v of kind %v, want invalid or too_large", name, body, err, tansa.KindOf(err))
	}
	if tansa.MessageOf(err) == "" || tansa.MessageOf(err) == "internal error" {
		t.Fatalf("%s: body %q: error without a message for the user: %v", name, body, err)
	}
}

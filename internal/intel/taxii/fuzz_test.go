package taxii

import (
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// FuzzDecode feeds arbitrary bytes to the decoders of every TAXII resource
// the client reads: each must answer a value or an Invalid error that
// says what was wrong, never panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"title":"t","default":"/api1/","api_roots":["/api1/","https://x/api2/"]}`,
		`{"title":"root","versions":["application/taxii+json;version=2.1"],"max_content_length":104857600}`,
		`{"collections":[{"id":"91a7b528-80eb-42ed-a74d-c6fbd5a26116","title":"High Value","can_read":true,"can_write":false,"media_types":["application/stix+json;version=2.1"]}]}`,
		`{"more":true,"next":"abc","objects":[{"type":"indicator","id":"indicator--1"}]}`,
		`{"more":false,"objects":[{"id":"indicator--1","date_added":"2016-11-01T03:04:05.000Z","version":"2016-11-03T12:30:59.000Z"}]}`,
		`{"title":"Error","http_status":"401"}`,
		`{"objects":[{"id":"x","date_added":"not a time"}]}`,
		`{"collections":{"id":1}}`, `[`, `{} {}`, ``, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v := range []any{&Discovery{}, &APIRoot{}, &Collections{}, &Envelope{}, &Manifest{}, &Error{}} {
			if err := DecodeBytes(b, "fuzz", v); err != nil {
				if k := tansa.KindOf(err); k != tansa.Invalid {
					t.Fatalf("%T: error of kind %v: %v", v, k, err)
				}
				if !strings.HasPrefix(err.Error(), "fuzz: ") {
					t.Fatalf("%T: error does not say what: %v", v, err)
				}
			}
		}
		_, _ = ParseTime(string(b))
		_ = IsTAXII(string(b))
		_ = Accepts(string(b))
	})
}

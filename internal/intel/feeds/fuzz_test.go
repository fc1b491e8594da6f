package feeds

import (
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// FuzzDecodeInput feeds arbitrary bytes to the feed configuration decoder
// and checks what it accepts: a configuration either fails with an Invalid
// error or, applied to a feed, passes Check.
func FuzzDecodeInput(f *testing.F) {
	for _, s := range []string{
		`{"name":"partner","kind":"taxii","source":"https://taxii.example/taxii2/","secret":"tok","interval":"1h"}`,
		`{"name":"list","kind":"url","source":"https://example.com/list.txt","format":"text","interval":"30m","enabled":false}`,
		`{"name":"file","kind":"file","source":"/srv/feeds/iocs.csv","format":"csv","interval":"24h"}`,
		`{"name":"x","kind":"url","source":"https://u:p@example.com/","interval":"1h"}`,
		`{"interval":"-5m"}`, `{"unknown":1}`, `{"name":3}`, `{} []`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := DecodeInput(b)
		if err != nil {
			if tansa.KindOf(err) != tansa.Invalid {
				t.Fatalf("decode: error of kind %v: %v", tansa.KindOf(err), err)
			}
			return
		}
		fd := Feed{Interval: time.Hour}
		if err := in.apply(&fd); err != nil {
			if tansa.KindOf(err) != tansa.Invalid {
				t.Fatalf("apply: error of kind %v: %v", tansa.KindOf(err), err)
			}
			return
		}
		if err := Check(&fd); err != nil {
			t.Fatalf("applied configuration %+v fails Check: %v", fd, err)
		}
		if fd.Interval < MinInterval || fd.Interval > MaxInterval || fd.Name == "" || fd.Source == "" {
			t.Fatalf("accepted %+v", fd)
		}
	})
}

// FuzzCursor reads damaged cursors: they restart a pull, never fail it.
func FuzzCursor(f *testing.F) {
	f.Add(`{"https://x/api/collections/c/":"2025-01-01T00:00:00Z"}`)
	f.Add(`{`)
	f.Fuzz(func(t *testing.T, s string) {
		c := parseCursor(s)
		if parseCursor(c.String()) == nil {
			t.Fatal("a cursor's own text does not read back")
		}
	})
}

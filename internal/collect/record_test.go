package collect

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBatchRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 22, 1, 2, 3, 456789000, time.UTC)
	in := []Record{
		{Source: "hec", Hint: "cef", Host: "fw01", Time: now.Add(-time.Second), Received: now, Raw: []byte("CEF:0|Fortinet|FortiGate|…")},
		{Source: "syslog-tcp:10.0.0.1", Received: now, Raw: []byte{}},
		{Source: "bulk", Received: now, Raw: []byte(strings.Repeat("x", 70000))},
		// Strings equal to the record before's are shared; these
		// change one at a time, and back.
		{Source: "bulk", Hint: "json", Received: now, Raw: []byte("{}")},
		{Source: "bulk", Hint: "json", Host: "fw02", Received: now, Raw: []byte("{}")},
		{Source: "bulk", Host: "fw02", Received: now, Raw: []byte("{}")},
		{Source: "hec", Received: now, Raw: []byte("{}")},
	}
	out, err := DecodeBatch(EncodeBatch(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("decoded %d records, want %d", len(out), len(in))
	}
	for i := range in {
		a, b := in[i], out[i]
		if a.Source != b.Source || a.Hint != b.Hint || a.Host != b.Host || !a.Time.Equal(b.Time) || !a.Received.Equal(b.Received) || !bytes.Equal(a.Raw, b.Raw) {
			t.Errorf("record %d = %+v, want %+v", i, b, a)
		}
	}
	if !out[1].Time.IsZero() {
		t.Errorf("a record without a time decoded with time %v", out[1].Time)
	}
}

// TestDecodeBatchSharesStrings checks that a batch whose records come from
// one source and host decodes without a string allocation per record: the
// pipeline decodes every batch.
func TestDecodeBatchSharesStrings(t *testing.T) {
	recs := make([]Record, 500)
	for i := range recs {
		recs[i] = Record{Source: "syslog-tcp:10.0.0.1:514", Hint: "syslog", Host: "fw01", Received: time.Now(), Raw: []byte("<34>Oct 11 22:14:15 mymachine su: hello")}
	}
	b := EncodeBatch(recs)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := DecodeBatch(b); err != nil {
			t.Fatal(err)
		}
	})
	// The records slice and the three strings of the first record.
	if allocs > 4 {
		t.Errorf("decoding 500 records of one source allocated %.0f times, want ≤ 4", allocs)
	}
}

func TestDecodeBatchRejectsDamage(t *testing.T) {
	good := EncodeBatch([]Record{{Source: "hec", Received: time.Now(), Raw: []byte("hello world")}})
	cases := map[string][]byte{
		"empty":          nil,
		"wrong version":  append([]byte{9}, good[1:]...),
		"truncated":      good[:len(good)-3],
		"trailing bytes": append(append([]byte{}, good...), 0, 0),
		"huge count":     {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, b := range cases {
		if _, err := DecodeBatch(b); err == nil {
			t.Errorf("%s: decoded without error", name)
		} else if !strings.Contains(err.Error(), "batch") {
			t.Errorf("%s: error %q does not say it is about the batch", name, err)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(EncodeBatch([]Record{{Source: "hec", Received: time.Unix(1, 0), Raw: []byte("a")}}))
	f.Add(EncodeBatch(nil))
	f.Add([]byte{1, 2, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := DecodeBatch(b)
		if err != nil {
			return
		}
		// What decodes must encode back to the same records.
		again, err := DecodeBatch(EncodeBatch(recs))
		if err != nil || len(again) != len(recs) {
			t.Fatalf("re-encoding %d records failed: %v", len(recs), err)
		}
	})
}

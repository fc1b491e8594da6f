package postgres

import (
	"strings"
	"testing"
)

func TestTSQuery(t *testing.T) {
	for _, tt := range []struct {
		text, want string
		match      bool
	}{
		{"failed ROOT", "('failed') & ('root')", true},
		{"pay*", "('pay':*)", true},
		{"203.0.113.5", "('203' <-> '0' <-> '113' <-> '5')", true},
		{"evil.exa*", "('evil' <-> 'exa':*)", true},
		{`it's a\b`, "('it' <-> 's') & ('a' <-> 'b')", true},
		{`"unbalanced AND OR ( NEAR`, "('unbalanced') & ('and') & ('or') & ('near')", true},
		{"!x & y:* | <-> z", "('x') & ('y':*) & ('z')", true},
		{"(", "", false},
		{"*", "", true},
		{"", "", true},
		{"Straße ÄÖ", "('straße') & ('äö')", true},
		{strings.Repeat("a", maxWord+1), "", false},
	} {
		got, match := tsQuery(tt.text)
		if got != tt.want || match != tt.match {
			t.Errorf("tsQuery(%q) = %q, %v; want %q, %v", tt.text, got, match, tt.want, tt.match)
		}
	}
}

func TestDocument(t *testing.T) {
	for _, tt := range []struct{ raw, want string }{
		{"GET http://evil.example/payload.exe", "'evil':3 'example':4 'exe':6 'get':1 'http':2 'payload':5"},
		{"user=x_y\x00\xff rc=-1 USER", "'1':5 'rc':4 'user':1,6 'x':2 'y':3"},
		{"a " + strings.Repeat("b", maxWord+1) + " c", "'a':1 'c':2"},
		{"İ ÄB straße ＡＢ", "'i':1 'straße':3 'äb':2 'ａｂ':4"},
	} {
		if got := document([]byte(tt.raw)); got != tt.want {
			t.Errorf("document(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
	huge := document([]byte(strings.Repeat("word ", maxPosition+10) + strings.Repeat("x", maxDocument)))
	if want := "'word':1,2,3,"; !strings.HasPrefix(huge, want) || len(huge) > maxDocument || strings.Count(huge, ",") != maxPositions-1 || strings.Contains(huge, "xxx") {
		t.Errorf("document of a huge event = %.60q… (%d commas), want %q…, %d positions and no word beyond the limit", huge, strings.Count(huge, ","), want, maxPositions)
	}
}

func TestAppendLexeme(t *testing.T) {
	if got, want := string(appendLexeme(nil, []byte(`a'b\c`))), `'a''b\\c'`; got != want {
		t.Errorf("appendLexeme = %s, want %s", got, want)
	}
}

func TestDayOf(t *testing.T) {
	d := int64(86_400_000_000)
	for _, tt := range []struct{ micros, want int64 }{{0, 0}, {d - 1, 0}, {d, 1}, {-1, -1}, {-d, -1}, {-d - 1, -2}} {
		if got := dayOf(tt.micros); got != tt.want {
			t.Errorf("dayOf(%d) = %d, want %d", tt.micros, got, tt.want)
		}
	}
}

package stixpattern

import (
	"bufio"
	"errors"
	"github.com/tansa-sec/tansa/internal/shareddata"
	"os"
	"strings"
	"testing"
	"time"
)

func TestSpecExamples(t *testing.T) {
	f, err := os.Open(shareddata.Path(t, "stix/pattern-spec-examples.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		n++
		p, err := Parse(line)
		if err != nil {
			t.Errorf("Parse(%q): %v", line, err)
			continue
		}
		again, err := Parse(p.String())
		if err != nil {
			t.Errorf("reparse of %q: %v", p.String(), err)
			continue
		}
		if again.String() != p.String() {
			t.Errorf("round trip changed %q to %q", p.String(), again.String())
		}
	}
	if n < 20 {
		t.Fatalf("only %d patterns in the spec examples", n)
	}
	t.Logf("%d spec example patterns parsed and round-tripped", n)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		col  int
		frag string
	}{
		{"", 1, "empty pattern"},
		{"[file:name = 'a'", 17, "expected ']'"},
		{"file:name = 'a'", 1, "expected '['"},
		{"[file:name = 'a] ", 14, "unterminated string"},
		{"[file:name = 'a\\x']", 16, "invalid escape"},
		{"[file:name 'a']", 12, "comparison operator"},
		{"[file:hashes.SHA-256 = 'a']", 14, "quote it"},
		{"[file:name = 'a'] WITHIN 0 SECONDS", 26, "positive number"},
		{"[file:name = 'a'] REPEATS 2", 28, "expected TIMES"},
		{"[file:name = 'a'] START t'2020-01-01T00:00:00Z' STOP t'2019-01-01T00:00:00Z'", 54, "after START"},
		{"[file:created = t'2020-01-01']", 17, "end in Z"},
		{"[file:size > true]", 14, "orderable"},
		{"[file:name MATCHES 5]", 20, "string literal"},
		{"[file:name = 'a'] AND", 22, "expected '['"},
		{"[file:name = 'a'] [file:name = 'b']", 19, "unexpected"},
		{"[file:name IN ('a' 'b')]", 20, "expected ',' or ')'"},
		{"[file:magic = h'abc']", 15, "even number"},
		{"[file:name = 'a' ! 'b']", 18, "'!' must be followed"},
		{"[:name = 'a']", 2, "object type"},
		{"[file:name = 'a'] and [file:name = 'b']", 19, "unexpected"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *SyntaxError", tt.in, err)
			continue
		}
		if se.Column != tt.col || !strings.Contains(se.Msg, tt.frag) {
			t.Errorf("Parse(%q) error = %q at column %d, want %q at column %d", tt.in, se.Msg, se.Column, tt.frag, tt.col)
		}
	}
}

func TestCanonicalString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"[ipv4-addr:value == '1.2.3.4']", "[ipv4-addr:value = '1.2.3.4']"},
		{"[a:b <> 1]", "[a:b != 1]"},
		{"([a:b = 1] OR [a:c = 2]) AND [a:d = 3]", "([a:b = 1] OR [a:c = 2]) AND [a:d = 3]"},
		{"[a:b = 1] OR [a:c = 2] AND [a:d = 3]", "[a:b = 1] OR [a:c = 2] AND [a:d = 3]"},
		{"([a:b = 1] AND [a:c = 2]) REPEATS 3 TIMES WITHIN 10 SECONDS", "([a:b = 1] AND [a:c = 2]) REPEATS 3 TIMES WITHIN 10 SECONDS"},
		{"[file:hashes.'SHA-256' = 'AB' AND file:x[*].y[2] NOT IN ('a', 1, true)]", "[file:hashes.'SHA-256' = 'AB' AND file:x[*].y[2] NOT IN ('a', 1, true)]"},
		{"[a:b = 'it\\'s \\\\ here']", "[a:b = 'it\\'s \\\\ here']"},
		{"[a:b = -1.5 OR EXISTS a:c]", "[a:b = -1.5 OR EXISTS a:c]"},
		{"[a:b = b'AQI=']", "[a:b = b'AQI=']"},
	}
	for _, tt := range tests {
		p, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := p.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAtoms(t *testing.T) {
	tests := []struct {
		in     string
		want   []Atom
		atomic bool
	}{
		{"[ipv4-addr:value = '198.51.100.1']", []Atom{{"ipv4-addr:value", "198.51.100.1"}}, true},
		{"[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']",
			[]Atom{{"url:value", "http://example.com/foo"}, {"url:value", "http://example.com/bar"}}, true},
		{"[file:hashes.'SHA-256' = 'aa'] OR [domain-name:value = 'evil.com']",
			[]Atom{{"file:hashes.'SHA-256'", "aa"}, {"domain-name:value", "evil.com"}}, true},
		{"[file:hashes.MD5 = 'aa' OR file:hashes.'SHA-1' = 'bb']", []Atom{{"file:hashes.MD5", "aa"}, {"file:hashes.'SHA-1'", "bb"}}, true},
		{"[file:hashes.'SHA-256' = 'aa' AND file:mime_type = 'application/x-pdf']", nil, false},
		{"[ipv4-addr:value != '1.2.3.4']", nil, false},
		{"[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [ipv4-addr:value = '1.2.3.5']", nil, false},
		{"[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS", nil, false},
		{"[file:size = '371712']", nil, false},
	}
	for _, tt := range tests {
		p, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		got, ok := p.Atoms()
		if ok != tt.atomic || len(got) != len(tt.want) {
			t.Errorf("Atoms(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.atomic)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("Atoms(%q)[%d] = %v, want %v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func TestMatch(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	obs := []Observed{
		{Time: t0, Fields: map[string]any{"file:hashes.MD5": "79054025255fb1a26e4bc422aef54eb4", "file:name": "foo.dll", "file:size": int64(371712)}},
		{Time: t0.Add(100 * time.Second), Fields: map[string]any{"windows-registry-key:key": `HKEY_LOCAL_MACHINE\foo\bar`}},
		{Time: t0.Add(200 * time.Second), Fields: map[string]any{"network-traffic:dst_ref.value": "203.0.113.33", "network-traffic:dst_ref.type": "ipv4-addr"}},
		{Time: t0.Add(300 * time.Second), Fields: map[string]any{"network-traffic:dst_ref.value": "203.0.113.33", "network-traffic:dst_ref.type": "ipv4-addr"}},
		{Time: t0.Add(400 * time.Second), Fields: map[string]any{"email-message:body_multipart[*].body_raw_ref.name": []string{"a.txt", "Final Report 2.exe"}, "email-message:from_ref.value": "x@example.com"}},
	}
	tests := []struct {
		pattern string
		want    bool
	}{
		{"[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']", true},
		{"[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb5']", false},
		{"([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) WITHIN 300 SECONDS", true},
		{"([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) WITHIN 50 SECONDS", false},
		{"[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar'] FOLLOWEDBY [file:name = 'foo.dll']", false},
		{"[network-traffic:dst_ref.value ISSUBSET '203.0.113.0/24'] REPEATS 2 TIMES WITHIN 150 SECONDS", true},
		{"[network-traffic:dst_ref.value ISSUBSET '203.0.113.0/24'] REPEATS 3 TIMES", false},
		{"[file:size > 371711 AND file:size <= 371712 AND file:name LIKE 'foo.%']", true},
		{"[file:name NOT = 'foo.dll']", false},
		{"[file:name NOT MATCHES '^bar']", true},
		{"[file:name IN ('a', 'foo.dll')]", true},
		{"[file:missing NOT = 'x']", false},
		{"[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']", true},
		{"[file:name = 'foo.dll'] START t'2025-12-31T00:00:00Z' STOP t'2026-01-01T00:00:01Z'", true},
		{"[file:name = 'foo.dll'] START t'2026-01-01T00:00:01Z' STOP t'2026-01-02T00:00:00Z'", false},
		{"[file:name = 'foo.dll'] AND [network-traffic:dst_ref.type = 'ipv4-addr']", true},
		{"[file:name = 'nope'] OR [network-traffic:dst_ref.type = 'ipv4-addr']", true},
		{"[file:name = 'nope'] AND [network-traffic:dst_ref.type = 'ipv4-addr']", false},
		{"[EXISTS file:size]", true},
	}
	for _, tt := range tests {
		p, err := Parse(tt.pattern)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.pattern, err)
		}
		if got := p.Match(obs); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.pattern, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"[file:hashes.'SHA-256' = 'aa' AND file:mime_type = 'application/x-pdf']",
		"([a:b = 1] FOLLOWEDBY [c:d MATCHES 'x']) WITHIN 300 SECONDS",
		"[a:b[*].c NOT IN (1, 2.5, true, h'ff', b'AQI=', t'2020-01-01T00:00:00Z')] REPEATS 5 TIMES",
		"[a:b ISSUBSET '10.0.0.0/8'] START t'2020-01-01T00:00:00Z' STOP t'2021-01-01T00:00:00Z'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Column < 1 {
				t.Fatalf("Parse(%q) error %v has no column", s, err)
			}
			return
		}
		again, err := Parse(p.String())
		if err != nil {
			t.Fatalf("canonical %q of %q does not reparse: %v", p.String(), s, err)
		}
		if again.String() != p.String() {
			t.Fatalf("round trip of %q: %q != %q", s, again.String(), p.String())
		}
		p.MatchFields(map[string]any{"a:b": "x"})
		p.Atoms()
	})
}

// BenchmarkParse measures parsing a typical mixed pattern.
func BenchmarkParse(b *testing.B) {
	const p = "([file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' OR file:name MATCHES '^Final Report.+\\\\.exe$'] FOLLOWEDBY [network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24']) WITHIN 300 SECONDS"
	b.SetBytes(int64(len(p)))
	for range b.N {
		if _, err := Parse(p); err != nil {
			b.Fatal(err)
		}
	}
}

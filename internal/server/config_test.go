package server

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	const full = `# a full configuration
data: /var/lib/tansa
listen: 0.0.0.0:8443
tls:
  cert: /etc/tansa/cert.pem
  key: /etc/tansa/key.pem
store:
  driver: sqlite
session:
  idle: 45m
  absolute: 8h
login:
  max_failures: 7
  lockout: 1h
secure_cookies: true
log_level: debug
`
	c, err := ParseConfig(strings.NewReader(full))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"data", c.Data, "/var/lib/tansa"},
		{"listen", c.Listen, "0.0.0.0:8443"},
		{"tls.cert", c.TLS.Cert, "/etc/tansa/cert.pem"},
		{"tls.key", c.TLS.Key, "/etc/tansa/key.pem"},
		{"store.driver", c.Store.Driver, "sqlite"},
		{"session.idle", time.Duration(c.Session.Idle), 45 * time.Minute},
		{"session.absolute", time.Duration(c.Session.Absolute), 8 * time.Hour},
		{"login.max_failures", c.Login.MaxFailures, 7},
		{"login.lockout", time.Duration(c.Login.Lockout), time.Hour},
		{"secure_cookies", c.SecureCookies, true},
		{"log_level", c.LogLevel, "debug"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestParseConfigDefaults(t *testing.T) {
	for _, in := range []string{"", "# nothing but a comment\n", "---\n", "{}\n"} {
		c, err := ParseConfig(strings.NewReader(in))
		if err != nil {
			t.Fatalf("ParseConfig(%q): %v", in, err)
		}
		if c.Data != "./tansa-data" || c.Listen != "127.0.0.1:8080" || c.Store.Driver != "sqlite" || c.LogLevel != "info" {
			t.Errorf("ParseConfig(%q) = data %q listen %q driver %q log %q; want the defaults", in, c.Data, c.Listen, c.Store.Driver, c.LogLevel)
		}
	}
}

// TestParseConfigErrors checks that each mistake is refused with a message
// that names where it is (the line) or what is wrong.
func TestParseConfigErrors(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // all must appear in the error
	}{
		{"unknown key", "data: /d\nlisten: 127.0.0.1:1\ncolour: red\n", []string{"line 3", "colour"}},
		{"unknown nested key", "tls:\n  cert: c.pem\n  keyfile: k.pem\n", []string{"line 3", "keyfile"}},
		{"misspelt section", "data: /d\n\nsesion:\n  idle: 5m\n", []string{"line 3", "sesion"}},
		{"wrong type: list for a string", "data: /d\nlisten: [a, b]\n", []string{"line 2"}},
		{"wrong type: text for a number", "login:\n  max_failures: lots\n", []string{"line 2", "lots"}},
		{"wrong type: text for a bool", "secure_cookies: maybe\n", []string{"line 1", "maybe"}},
		{"wrong type: map for a duration", "session:\n  idle:\n    minutes: 5\n", []string{"line 3", "duration"}},
		{"bad duration", "session:\n  idle: 30m\n  absolute: forever\n", []string{"line 3", "forever"}},
		{"negative duration", "login:\n  lockout: -5m\n", []string{"line 2", "-5m"}},
		{"bad YAML", "data: /d\nlisten: [\n", []string{"line"}},
		{"tab indentation", "tls:\n\tcert: c.pem\n", []string{"line 2"}},
		{"two documents", "data: /a\n---\ndata: /b\n", []string{"one YAML document"}},
		{"not a mapping", "- data\n- listen\n", []string{"line 1"}},
		{"listen without port", "listen: localhost\n", []string{"listen", "localhost"}},
		{"cert without key", "tls:\n  cert: c.pem\n", []string{"tls", "cert and key"}},
		{"unknown driver", "store:\n  driver: mysql\n", []string{"driver", "mysql"}},
		{"postgres without url", "store:\n  driver: postgres\n", []string{"url"}},
		{"sqlite with url", "store:\n  url: postgres://x/y\n", []string{"url", "sqlite"}},
		{"too many failures allowed", "login:\n  max_failures: 5000\n", []string{"max_failures", "5000"}},
		{"negative failures", "login:\n  max_failures: -1\n", []string{"max_failures"}},
		{"unknown log level", "log_level: loud\n", []string{"log_level", "loud"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("ParseConfig(%q) = nil error, want one naming %q", tc.in, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseConfig(%q) error %q does not name %q", tc.in, err, w)
				}
			}
		})
	}
}

func TestParseConfigTooLarge(t *testing.T) {
	in := "data: /d\n# " + strings.Repeat("x", maxConfig) + "\n"
	_, err := ParseConfig(strings.NewReader(in))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("ParseConfig(%d bytes) error %v, want \"larger than\"", len(in), err)
	}
}

// FuzzParseConfig checks that no input makes ParseConfig panic, and that a
// configuration it accepts is valid, complete and stable.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"", "data: /d\nlisten: 127.0.0.1:9000\n",
		"tls:\n  cert: c\n  key: k\nstore:\n  driver: postgres\n  url: postgres://u:p@h/db\n",
		"session:\n  idle: 5m\n  absolute: 1h\nlogin:\n  max_failures: 3\n  lockout: 10m\n",
		"secure_cookies: true\nlog_level: warn\n", "colour: red\n", "listen: [1]\n", "---\n---\n",
		"a: &a [*a]\n", "session: {idle: 1h2m3s}\n", "login: {lockout: 9223372036854775807ns}\n",
		"data: !!binary aGVsbG8=\n", "listen: ':0'\n", "? [a]\n: b\n", "log_level: !!null\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ParseConfig(bytes.NewReader(in))
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseConfig(%q): empty error message", in)
			}
			return
		}
		if c.Data == "" || c.Listen == "" || c.LogLevel == "" || (c.Store.Driver != "sqlite" && c.Store.Driver != "postgres") {
			t.Fatalf("ParseConfig(%q) accepted an incomplete configuration: %+v", in, c)
		}
		again := c
		if err := again.Validate(); err != nil {
			t.Fatalf("ParseConfig(%q) accepted a configuration that does not validate: %v", in, err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("ParseConfig(%q): validating again changed the configuration:\n%+v\n%+v", in, c, again)
		}
		if c.Session.Idle < 0 || c.Session.Absolute < 0 || c.Login.Lockout < 0 || c.Login.MaxFailures < 0 {
			t.Fatalf("ParseConfig(%q) accepted a negative setting: %+v", in, c)
		}
	})
}

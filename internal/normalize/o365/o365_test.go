package o365_test

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
	"github.com/tansa-sec/tansa/internal/normalize/o365"
)

// fixture returns the lines of a testdata file; the records there follow
// Microsoft's published schemas field by field.
func fixture(t testing.TB, name string) []string {
	t.Helper()
	fh, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestParseAudit(t *testing.T) {
	lines := fixture(t, "ual.jsonl")
	want := []map[string]any{
		{
			"event.action": "UserLoggedIn", "event.provider": "AzureActiveDirectory", "event.code": "15", "event.outcome": "success",
			"user.name": "taro.yamada@contoso.co.jp", "user.email": "taro.yamada@contoso.co.jp", "source.ip": "203.0.113.24",
			"ExtendedProperties.RequestType": "OAuth2:Authorize", "Actor.1.ID": "taro.yamada@contoso.co.jp", "RecordType": int64(15),
			"user_agent.original": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		},
		{"event.action": "UserLoginFailed", "event.outcome": "failure", "event.reason": "InvalidUserNameOrPassword", "source.ip": "198.51.100.77", "ErrorNumber": "50126"},
		{
			"event.action": "FileDownloaded", "event.provider": "OneDrive", "file.name": "見積書.xlsx", "file.directory": "Documents",
			"url.full":   "https://contoso-my.sharepoint.com/personal/hanako_contoso_co_jp/Documents/見積書.xlsx",
			"url.domain": "contoso-my.sharepoint.com", "source.ip": "198.51.100.7", "user.name": "hanako@contoso.co.jp",
		},
		{
			"event.action": "New-InboxRule", "event.outcome": "success", "source.ip": "2001:db8::7",
			"Parameters.SubjectOrBodyContainsWords": "invoice;payment", "Parameters.MoveToFolder": "RSS Feeds", "ExternalAccess": false,
		},
		{
			"event.action": "MailItemsAccessed", "source.ip": "203.0.113.24", "user.target.name": "taro.yamada@contoso.co.jp",
			"Folders.0.Path": `\Inbox`, "OperationProperties.MailAccessType": "Bind",
		},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d fixture lines, %d expectations", len(lines), len(want))
	}
	for i, l := range lines {
		if got := o365.Detect(l); got != o365.Audit {
			t.Errorf("line %d: Detect = %q", i+1, got)
		}
		ev := normalizetest.NewEvent()
		if err := o365.Parse(l, ev); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		normalizetest.CheckValues(t, ev.Fields)
		for k, w := range want[i] {
			if got := ev.Fields[k]; got != w {
				t.Errorf("line %d: %s = %#v, want %#v", i+1, k, got, w)
			}
		}
		if ev.Time.IsZero() || ev.Time.Location() != time.UTC {
			t.Errorf("line %d: Time = %v, want CreationTime in UTC", i+1, ev.Time)
		}
	}
}

func TestParseSignIn(t *testing.T) {
	lines := fixture(t, "signin.jsonl")
	want := []map[string]any{
		{
			"event.action": "sign-in", "event.outcome": "success", "event.code": "0", "user.name": "taro.yamada@contoso.co.jp",
			"user.id": "d7cc485d-2c1b-422c-98fd-5ce52859a4a3", "source.ip": "198.51.100.44", "source.geo.country_iso_code": "JP",
			"host.name": "TKY-PC-0042", "service.name": "Office 365 Exchange Online", "location.geoCoordinates.latitude": 35.6895,
			"appliedConditionalAccessPolicies.0.displayName": "Require MFA", "status.additionalDetails": nil,
		},
		{
			"event.outcome": "failure", "event.code": "50126", "source.ip": "203.0.113.99", "source.geo.city_name": "Moscow",
			"event.reason": "Error validating credentials due to invalid username or password.", "riskState": "atRisk",
		},
		{
			"event.outcome": "failure", "event.code": "50126", "source.ip": "203.0.113.99", "user.name": "taro.yamada@contoso.co.jp",
			"source.geo.country_iso_code": "RU", "properties.authenticationRequirement": "singleFactorAuthentication",
			"user_agent.original": "Mozilla/5.0 (Windows NT; Windows NT 10.0; ja-JP) WindowsPowerShell/5.1.19041.3570",
		},
	}
	times := []time.Time{
		time.Date(2026, 11, 20, 23, 41, 8, 0, time.UTC),
		time.Date(2026, 11, 21, 2, 13, 55, 0, time.UTC),
		time.Date(2026, 11, 21, 2, 13, 55, 123456700, time.UTC),
	}
	for i, l := range lines {
		if got := o365.Detect(l); got != o365.SignIn {
			t.Errorf("line %d: Detect = %q", i+1, got)
		}
		ev := normalizetest.NewEvent()
		if err := o365.Parse(l, ev); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		normalizetest.CheckValues(t, ev.Fields)
		for k, w := range want[i] {
			if got, ok := ev.Fields[k]; !ok || got != w {
				t.Errorf("line %d: %s = %#v, want %#v", i+1, k, got, w)
			}
		}
		if !ev.Time.Equal(times[i]) {
			t.Errorf("line %d: Time = %v, want %v", i+1, ev.Time, times[i])
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{`{"CreationTime":"2026-11-20T08:15:30","Operation":"x",`, "o365: json:"},
		{`{"integration":"office365","office365":{"CreationTime":"x","Operation":`, "o365: envelope:"},
		{`{"userPrincipalName":"a","createdDateTime":"b"`, "entra_signin: json:"},
		{`{"a":1}`, "o365: neither an audit record nor a sign-in"},
	}
	for _, tt := range tests {
		err := o365.Parse(tt.line, normalizetest.NewEvent())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.line, err, tt.want)
		}
	}
}

// TestSamples parses Wazuh's Office 365 test logs (audit records in
// Wazuh's envelope).
func TestSamples(t *testing.T) {
	n, bad := 0, 0
	for _, l := range normalizetest.WazuhLogs(t, "office365.ini") {
		if o365.Detect(l) != o365.Audit {
			continue
		}
		n++
		ev := normalizetest.NewEvent()
		if err := o365.Parse(l, ev); err != nil {
			bad++
			t.Errorf("%v\n%s", err, l)
		}
		if ev.Fields["event.action"] == nil && ev.Fields["Operation"] != nil {
			t.Errorf("no event.action from %s", l)
		}
		normalizetest.CheckValues(t, ev.Fields)
	}
	t.Logf("office365: %d of %d Wazuh audit records parse without error", n-bad, n)
	if n < 100 {
		t.Errorf("only %d audit records found", n)
	}
}

func FuzzParseO365(f *testing.F) {
	for _, name := range []string{"ual.jsonl", "signin.jsonl"} {
		for _, l := range fixture(f, name) {
			f.Add(l)
		}
	}
	f.Add(`{"integration":"office365","office365":{"CreationTime":"2020-03-19T16:48:02","Operation":"x"}}`)
	f.Fuzz(func(t *testing.T, line string) {
		ev := normalizetest.NewEvent()
		_ = o365.Parse(line, ev)
		normalizetest.CheckValues(t, ev.Fields)
	})
}

func BenchmarkParseO365(b *testing.B) {
	line := fixture(b, "ual.jsonl")[0]
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		if err := o365.Parse(line, normalizetest.NewEvent()); err != nil {
			b.Fatal(err)
		}
	}
	normalizetest.ReportRate(b, cpu0)
}

func BenchmarkParseEntraSignIn(b *testing.B) {
	line := fixture(b, "signin.jsonl")[0]
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		if err := o365.Parse(line, normalizetest.NewEvent()); err != nil {
			b.Fatal(err)
		}
	}
	normalizetest.ReportRate(b, cpu0)
}

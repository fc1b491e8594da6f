package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/scan"
	"github.com/tansa-sec/tansa/internal/scan/result"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// recordingAlerts is the Alerts the findings→alerts tests watch.
type recordingAlerts struct {
	mu     sync.Mutex
	alerts []tansa.Alert
	err    error
}

func (r *recordingAlerts) Raise(_ context.Context, as []tansa.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, as...)
	return r.err
}

// uploadStore is the part of a Store an upload touches; the embedded nil
// Store makes any other call fail the test with a panic.
type uploadStore struct {
	Store
	benign []string
	stored []*StoredSweep
	audit  []tansa.AuditEntry
}

func (s *uploadStore) PutSweep(_ context.Context, st *StoredSweep, a tansa.AuditEntry) error {
	for _, o := range s.stored {
		if o.Sweep.ID == st.Sweep.ID {
			return tansa.Errorf(tansa.Conflict, "sweep %q already stored", st.Sweep.ID)
		}
	}
	st.Sweep.AssetID = "asset-1"
	s.stored = append(s.stored, st)
	s.audit = append(s.audit, a)
	return nil
}

func (s *uploadStore) Exceptions(context.Context, string) ([]result.Exception, error) {
	var out []result.Exception
	for _, k := range s.benign {
		out = append(out, result.Exception{Key: k})
	}
	return out, nil
}

func (s *uploadStore) AppendAudit(_ context.Context, a tansa.AuditEntry) error {
	s.audit = append(s.audit, a)
	return nil
}

func sweepWithFindings(t *testing.T, s *Service, id string, fs ...result.Finding) []byte {
	t.Helper()
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	r := &result.Result{Schema: result.SchemaVersion, SweepID: id, Started: at, Finished: at.Add(3 * time.Second),
		Host: result.Host{Hostname: "PC-ACCT-07", OS: "windows"}, Findings: fs}
	r.Normalize()
	doc, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := scan.Seal(doc, s.opt.Keys.Identity.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// TestFindingsRaiseAlerts checks what an analyst sees in the alert queue
// after an upload: one sweep alert per finding scoring 40 or more whose
// key no reviewer marked benign, naming the host and the finding's rule,
// with the plain-language explanation and the way back to the sweep.
func TestFindingsRaiseAlerts(t *testing.T) {
	k, err := LoadKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingAlerts{}
	excepted := result.NewFinding("proc.user_writable", 60, "k", "{p} runs from a user-writable folder", map[string]string{"p": "updater.exe"},
		result.Subject{Kind: "process", Path: `C:\Users\*\AppData\updater.exe`})
	st := &uploadStore{benign: []string{excepted.Key()}}
	s, err := New(st, nil, Options{Keys: k, Alerts: rec})
	if err != nil {
		t.Fatal(err)
	}
	office := result.NewFinding("proc.office_shell", 85, "k", "{child} was started by {parent}", map[string]string{"child": "powershell.exe", "parent": "WINWORD.EXE"},
		result.Subject{Kind: "process", PID: 4242, Path: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`}, "T1566.001", "T1059.001")
	edge := result.NewFinding("persist.temp", 40, "k", "a Run key starts {p} from a temporary folder", map[string]string{"p": "x.exe"},
		result.Subject{Kind: "persistence", Path: `C:\Temp\x.exe`})
	low := result.NewFinding("proc.unsigned", 39, "k", "{p} is unsigned", map[string]string{"p": "tool.exe"},
		result.Subject{Kind: "process", Path: `C:\Tools\tool.exe`})
	scanner := access.Caller{Principal: access.Principal{Kind: "token", Name: "enrol", Role: tansa.RoleScanner, TenantID: "t-acme"}}
	id := "0123456789abcdef0123456789abcdef"
	sw, err := s.Upload(context.Background(), scanner, UploadInput{Sealed: bytes.NewReader(sweepWithFindings(t, s, id, office, edge, low, excepted))})
	if err != nil {
		t.Fatal(err)
	}
	if sw.Findings != 4 {
		t.Fatalf("stored %d findings, want all 4 (alerts filter, storage does not)", sw.Findings)
	}
	if len(rec.alerts) != 2 {
		t.Fatalf("raised %d alerts, want 2 (score 85 and 40; not 39, not the benign key): %+v", len(rec.alerts), rec.alerts)
	}
	byRule := map[string]tansa.Alert{}
	for _, a := range rec.alerts {
		byRule[a.RuleID] = a
	}
	a, ok := byRule["proc.office_shell"]
	if !ok {
		t.Fatalf("no alert for proc.office_shell: %+v", rec.alerts)
	}
	if a.Kind != tansa.AlertSweep || a.TenantID != "t-acme" || a.Host != "PC-ACCT-07" || a.Level != "high" || a.Status != tansa.AlertNew {
		t.Errorf("alert = kind %q tenant %q host %q level %q status %q", a.Kind, a.TenantID, a.Host, a.Level, a.Status)
	}
	if a.RuleTitle != "powershell.exe was started by WINWORD.EXE" {
		t.Errorf("title %q, want the finding's explanation", a.RuleTitle)
	}
	if len(a.Tags) != 2 || a.Tags[0] != "attack.t1566.001" {
		t.Errorf("tags %v, want the ATT&CK techniques", a.Tags)
	}
	if a.GroupKey != "PC-ACCT-07|"+office.Key() {
		t.Errorf("group key %q: the same finding on the same host must merge across sweeps", a.GroupKey)
	}
	var ctx map[string]any
	if err := json.Unmarshal(a.Context, &ctx); err != nil {
		t.Fatal(err)
	}
	if ctx["explanation"] != "powershell.exe was started by WINWORD.EXE" || ctx["sweep_id"] != id || ctx["asset_id"] != "asset-1" ||
		ctx["score"] != float64(85) || ctx["finding_id"] != id+":0" {
		t.Errorf("context %v lacks the explanation, score or the way back to the sweep", ctx)
	}
	if e, ok := byRule["persist.temp"]; !ok || e.Level != "medium" {
		t.Errorf("score 40 (the threshold) raised %+v", e)
	}

	// A replayed upload raises nothing again.
	_, err = s.Upload(context.Background(), scanner, UploadInput{Sealed: bytes.NewReader(sweepWithFindings(t, s, id, office))})
	if tansa.KindOf(err) != tansa.Conflict || len(rec.alerts) != 2 {
		t.Errorf("replay: %v, %d alerts", err, len(rec.alerts))
	}

	// The alert service failing does not lose the stored sweep.
	rec.err = errors.New("alert store down")
	if _, err := s.Upload(context.Background(), scanner, UploadInput{Sealed: bytes.NewReader(sweepWithFindings(t, s, "fedcba9876543210fedcba9876543210", office))}); err != nil {
		t.Errorf("upload with the alert service failing: %v", err)
	}
	if len(st.stored) != 2 {
		t.Errorf("%d sweeps stored, want 2", len(st.stored))
	}
}

// TestFindingsAlertThreshold checks that Options.AlertScore moves the bar.
func TestFindingsAlertThreshold(t *testing.T) {
	k, err := LoadKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingAlerts{}
	s, err := New(&uploadStore{}, nil, Options{Keys: k, Alerts: rec, AlertScore: 90})
	if err != nil {
		t.Fatal(err)
	}
	f := result.NewFinding("proc.office_shell", 85, "k", "x", nil, result.Subject{Kind: "process"})
	scanner := access.Caller{Principal: access.Principal{Kind: "token", Name: "enrol", Role: tansa.RoleScanner, TenantID: "t-acme"}}
	if _, err := s.Upload(context.Background(), scanner, UploadInput{Sealed: bytes.NewReader(sweepWithFindings(t, s, "0123456789abcdef0123456789abcdef", f))}); err != nil {
		t.Fatal(err)
	}
	if len(rec.alerts) != 0 {
		t.Errorf("score 85 under a bar of 90 raised %d alerts", len(rec.alerts))
	}
}

// TestRefusalsAuditedOncePerMinute checks that a scanner retrying the same
// bad upload, or knocking with the same revoked token, leaves one audit
// row a minute, the next one counting those left out; another address or
// another reason is audited on its own.
func TestRefusalsAuditedOncePerMinute(t *testing.T) {
	k, err := LoadKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	st := &uploadStore{}
	s, err := New(st, nil, Options{Keys: k, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	scanner := access.Caller{Principal: access.Principal{Kind: "token", Name: "enrol", Role: tansa.RoleScanner, TenantID: "t-acme"}, Addr: "192.0.2.7"}
	garbage := func(c access.Caller, body string) {
		t.Helper()
		if _, err := s.Upload(context.Background(), c, UploadInput{Sealed: bytes.NewReader([]byte(body))}); tansa.KindOf(err) != tansa.Invalid {
			t.Fatalf("garbage upload: %v", err)
		}
	}
	for range 5 {
		garbage(scanner, `{"schema":1}`)
		now = now.Add(time.Second)
	}
	if len(st.audit) != 1 {
		t.Fatalf("5 identical refusals within a minute left %d audit rows, want 1", len(st.audit))
	}
	other := scanner
	other.Addr = "198.51.100.9"
	garbage(other, `{"schema":1}`)
	if len(st.audit) != 2 || st.audit[1].Addr != "198.51.100.9" {
		t.Fatalf("another address: %d rows", len(st.audit))
	}
	for range 3 {
		if err := s.RecordRefusal(context.Background(), "token:tansa_abcdef…", "192.0.2.7", "", tansa.Errorf(tansa.Unauthorized, "the token is invalid, revoked or expired")); err != nil {
			t.Fatal(err)
		}
	}
	if len(st.audit) != 3 {
		t.Fatalf("3 unknown-token knocks: %d rows in all, want 3", len(st.audit))
	}
	now = now.Add(time.Minute)
	garbage(scanner, `{"schema":1}`)
	if len(st.audit) != 4 {
		t.Fatalf("a minute later: %d rows, want 4", len(st.audit))
	}
	var after map[string]any
	if err := json.Unmarshal(st.audit[3].After, &after); err != nil {
		t.Fatal(err)
	}
	if after["suppressed"] != float64(4) || after["code"] == "" || after["reason"] == "" {
		t.Errorf("the row after the minute: %v; want the reason, the code and suppressed 4", after)
	}
}

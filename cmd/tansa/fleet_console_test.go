package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/tansa-sec/tansa/internal/scan"
	"github.com/tansa-sec/tansa/internal/scan/result"
)

// TestConsoleSweepUpload uploads an offline result file (tansa scan --out)
// through the console's form as a person at a site without network would:
// the browser lands on the endpoint's page with the confirmation, the
// endpoint shows its host name and finding, the finding is in the alert
// queue, and the audit log names the console as the source.
func TestConsoleSweepUpload(t *testing.T) {
	dir := t.TempDir()
	getenv := testEnv(map[string]string{"TANSA_ADMIN_PASSWORD": adminPassword})
	srv := startServe(t, dir, getenv)
	out, errOut, err := runCmd(t, getenv, "tenant", "create", "--name", "Ship Trading", "--data", dir)
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut)
	}
	tenant := strings.TrimSpace(out)

	c := newClient(t, srv.base)
	c.login("admin", adminPassword)
	var key struct{ Recipient string }
	c.getJSON("/api/v1/fleet/key", &key)
	rcpt, err := age.ParseX25519Recipient(key.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	r := &result.Result{Schema: result.SchemaVersion, SweepID: fmt.Sprintf("%032x", now.UnixNano()), Started: now.Add(-time.Minute), Finished: now,
		Host: result.Host{Hostname: "ship-pc-42", OS: "windows"},
		Findings: []result.Finding{result.NewFinding("process.office-shell", 85, "process.office-shell", "{child} was started by {parent}",
			map[string]string{"child": "powershell.exe", "parent": "WINWORD.EXE"}, result.Subject{Kind: "process", PID: 42})}}
	r.Normalize()
	doc, _ := json.Marshal(r)
	sealed, err := scan.Seal(doc, rcpt)
	if err != nil {
		t.Fatal(err)
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("tenant_id", tenant)
	fw, _ := mw.CreateFormFile("file", "ship-pc-42.tansa")
	_, _ = fw.Write(sealed)
	_ = mw.Close()
	post := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.base+"/endpoints/upload", bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		res, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	res := post()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/endpoints/") || !strings.Contains(loc, "flash=flash.sweep_uploaded") {
		t.Fatalf("upload form: %d to %q; want 303 to the endpoint's page with the confirmation", res.StatusCode, loc)
	}
	code, page := c.do("GET", loc, "", "")
	if code != 200 {
		t.Fatalf("GET %s: %d", loc, code)
	}
	for _, want := range []string{"The sweep result was uploaded.", "ship-pc-42", "powershell.exe was started by WINWORD.EXE"} {
		if !strings.Contains(page, want) {
			t.Errorf("the endpoint page after the upload lacks %q", want)
		}
	}
	if res := post(); res.StatusCode != http.StatusConflict {
		t.Errorf("the same file uploaded again: %d, want 409 (a replay)", res.StatusCode)
	}
	var assets struct {
		Items []struct{ ID, Hostname string }
	}
	c.getJSON("/api/v1/fleet/assets?tenant="+tenant, &assets)
	if len(assets.Items) != 1 || assets.Items[0].Hostname != "ship-pc-42" || loc != "/endpoints/"+assets.Items[0].ID+"?flash=flash.sweep_uploaded" {
		t.Fatalf("assets: %+v after landing on %s", assets, loc)
	}
	// The finding is in the alert queue, with its explanation.
	var alerts struct {
		Items []struct {
			Kind, Host, Level string
			RuleID            string `json:"rule_id"`
			RuleTitle         string `json:"rule_title"`
			TenantID          string `json:"tenant_id"`
			Context           json.RawMessage
		}
	}
	c.getJSON("/api/v1/alerts?limit=50", &alerts)
	found := false
	for _, a := range alerts.Items {
		if a.Kind == "sweep" {
			found = true
			if a.RuleID != "process.office-shell" || a.Host != "ship-pc-42" || a.TenantID != tenant || a.Level != "high" ||
				a.RuleTitle != "powershell.exe was started by WINWORD.EXE" || !strings.Contains(string(a.Context), `"explanation":"powershell.exe was started by WINWORD.EXE"`) {
				t.Errorf("sweep alert: %+v %s", a, string(a.Context))
			}
		}
	}
	if !found {
		t.Errorf("no sweep alert in the queue after a finding scoring 85: %+v", alerts.Items)
	}
	var audit struct {
		Items []struct {
			Action string
			After  json.RawMessage
		}
	}
	c.getJSON("/api/v1/audit?action=sweep.upload&limit=10", &audit)
	if len(audit.Items) != 1 || !strings.Contains(string(audit.Items[0].After), `"source":"console"`) {
		t.Errorf("audit: %+v", audit.Items)
	}
}

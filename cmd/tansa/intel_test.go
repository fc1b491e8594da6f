package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIntelImportHelp(t *testing.T) {
	for _, args := range [][]string{{"intel", "import", "--help"}, {"intel", "--help"}} {
		out, errOut, err := runCmd(t, testEnv(nil), args...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("tansa %s: %v; stdout %q, stderr %q", strings.Join(args, " "), err, out, errOut)
		}
	}
	if _, errOut, err := runCmd(t, testEnv(nil), "intel", "import", "some.txt"); exitCode(err) != 2 || !strings.Contains(errOut, "--server") {
		t.Errorf("intel import without --server: %v, stderr %q; want a usage error", err, errOut)
	}
}

func TestIntelImportEndToEnd(t *testing.T) {
	dir := t.TempDir()
	getenv := testEnv(map[string]string{"TANSA_ADMIN_PASSWORD": adminPassword})
	srv := startServe(t, dir, getenv)
	out, errOut, err := runCmd(t, getenv, "tenant", "create", "--data", dir, "--name", "Intel Trading")
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut)
	}
	tenant := strings.TrimSpace(out)
	out, errOut, err = runCmd(t, getenv, "token", "create", "--data", dir, "--role", "tenant-admin", "--tenant", tenant, "--name", "intel importer")
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, errOut)
	}
	secret := strings.TrimSpace(out)

	files := t.TempDir()
	list := filepath.Join(files, "c2.txt")
	stix := filepath.Join(files, "broken.json")
	if err := os.WriteFile(list, []byte("# C2 servers\n45.77.12.1\n45.77.12.2\nevil-c2[.]top\nnot an indicator at all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stix, []byte(`{"type":"bundle","objects":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := testEnv(map[string]string{"TANSA_TOKEN": secret})
	out, errOut, err = runCmd(t, env, "intel", "import", "--server", srv.base, list, stix, filepath.Join(files, "missing.txt"))
	if err == nil || !strings.Contains(err.Error(), "2 of 3 files failed") {
		t.Errorf("intel import = %v, want 2 of 3 files failed\nstderr %s", err, errOut)
	}
	for _, want := range []string{list + "\ttext\t", "\t3 added\t0 updated", "\t1 rejected", "  rejected ", stix + "\terror: server refused the file: 400", "missing.txt\terror:"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}

	out, errOut, err = runCmd(t, env, "intel", "import", "--server", srv.base, "--format", "text", "--tenant", tenant, list)
	if err != nil || !strings.Contains(out, "\t0 added\t3 updated") {
		t.Errorf("second import: %v; stdout %q; stderr %q; want 0 added, 3 updated", err, out, errOut)
	}
	c := newClient(t, srv.base)
	c.auth = "Bearer " + secret
	var l struct{ Total int }
	c.getJSON("/api/v1/intel/indicators?limit=0", &l)
	if l.Total != 3 {
		t.Errorf("the tenant has %d indicators, want 3", l.Total)
	}
	if code, body := c.do("GET", "/api/v1/intel/feeds/edl/domain", "", ""); code != 200 || body != "evil-c2.top\n*.evil-c2.top\n" {
		t.Errorf("domain EDL: %d %q", code, body)
	}
}

// TestIntelFeedsEndToEnd configures a URL feed with tansa intel feeds,
// pulls it, and finds its indicators and the retro-hunt its import
// started.
func TestIntelFeedsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	getenv := testEnv(map[string]string{"TANSA_ADMIN_PASSWORD": adminPassword})
	srv := startServe(t, dir, getenv)
	out, errOut, err := runCmd(t, getenv, "tenant", "create", "--data", dir, "--name", "Feed Trading")
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut)
	}
	tenant := strings.TrimSpace(out)
	out, errOut, err = runCmd(t, getenv, "token", "create", "--data", dir, "--role", "provider-admin", "--name", "feeds")
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, errOut)
	}
	env := testEnv(map[string]string{"TANSA_TOKEN": strings.TrimSpace(out)})
	list := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("45.77.33.1\n45.77.33.2\n"))
	}))
	defer list.Close()

	out, errOut, err = runCmd(t, env, "intel", "feeds", "add", "--server", srv.base, "--tenant", tenant, "--name", "partner list",
		"--kind", "url", "--source", list.URL+"/c2.txt", "--interval", "6h")
	if err != nil {
		t.Fatalf("feeds add: %v\n%s", err, errOut)
	}
	id := strings.TrimSpace(out)
	out, errOut, err = runCmd(t, env, "intel", "feeds", "pull", "--server", srv.base, id)
	if err != nil || !strings.Contains(out, "partner list") || !strings.Contains(out, " ok (2 added, 0 updated, 0 rejected)") {
		t.Fatalf("feeds pull: %v\n%s\n%s", err, out, errOut)
	}
	out, _, err = runCmd(t, env, "intel", "feeds", "list", "--server", srv.base, "--tenant", tenant)
	if err != nil || !strings.Contains(out, id+"\tpartner list\turl\t") || !strings.Contains(out, "every 6h0m0s") {
		t.Errorf("feeds list: %v\n%s", err, out)
	}
	// The pull's import started a retro-hunt of the tenant.
	c := newClient(t, srv.base)
	c.auth = "Bearer " + env("TANSA_TOKEN")
	var hunts struct {
		Items []struct{ Origin, Ref, TenantID string } `json:"items"`
	}
	c.getJSON("/api/v1/intel/hunts?tenant="+tenant, &hunts)
	if len(hunts.Items) != 1 || hunts.Items[0].Origin != "feed" || hunts.Items[0].Ref != id {
		t.Errorf("hunts = %+v, want one started by the feed", hunts.Items)
	}
	if _, errOut, err = runCmd(t, env, "intel", "feeds", "rm", "--server", srv.base, id); err != nil {
		t.Fatalf("feeds rm: %v\n%s", err, errOut)
	}
	if out, _, _ = runCmd(t, env, "intel", "feeds", "list", "--server", srv.base); strings.Contains(out, id) {
		t.Errorf("the feed is still listed:\n%s", out)
	}
}

// TestIOCAlertsEndToEnd runs the server binary's pipeline: an indicator
// imported before an sshd line arrives raises an "ioc" alert with the
// indicator's context; one imported after the line is stored is found by
// the retro-hunt its import starts and raises a "retro" alert.
func TestIOCAlertsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	getenv := testEnv(map[string]string{"TANSA_ADMIN_PASSWORD": adminPassword})
	srv := startServe(t, dir, getenv)
	_, token := cliTenant(t, getenv, dir, "IOC Trading")
	admin, ingest := newClient(t, srv.base), newClient(t, srv.base)
	admin.auth, ingest.auth = "Bearer "+token("tenant-admin"), "Bearer "+token("ingest")
	if code, body := admin.do("POST", "/api/v1/intel/import?format=text&source=case-42", "text/plain", "45.77.99.1\n"); code != 200 {
		t.Fatalf("import: %d %s", code, body)
	}
	time.Sleep(time.Second) // the snapshot is rebuilt in the background after an import
	lines := "Nov 22 03:00:01 bastion sshd[4242]: Failed password for root from 45.77.99.1 port 51122 ssh2\n" +
		"Nov 22 03:00:02 bastion sshd[4243]: Failed password for root from 45.77.99.2 port 51123 ssh2\n"
	if code, body := ingest.do("POST", "/services/collector/raw?sourcetype=linux_secure", "text/plain", lines); code != 200 {
		t.Fatalf("HEC raw: %d %s", code, body)
	}
	type alertRow struct {
		Kind      string          `json:"kind"`
		RuleTitle string          `json:"rule_title"`
		GroupKey  string          `json:"group_key"`
		EventIDs  []string        `json:"event_ids"`
		Context   json.RawMessage `json:"context"`
	}
	wait := func(kind string) alertRow {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			var l struct{ Items []alertRow }
			admin.getJSON("/api/v1/alerts?kind="+kind, &l)
			if len(l.Items) > 0 {
				return l.Items[0]
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("no %s alert within a minute", kind)
		return alertRow{}
	}
	live := wait("ioc")
	if live.GroupKey != "45.77.99.1" || len(live.EventIDs) != 1 || !strings.Contains(string(live.Context), `"source":"case-42"`) {
		t.Errorf("ioc alert = %+v, context %s", live, live.Context)
	}
	// The second address becomes intelligence after its line was stored.
	if code, body := admin.do("POST", "/api/v1/intel/import?format=text&source=case-43", "text/plain", "45.77.99.2\n"); code != 200 {
		t.Fatalf("import: %d %s", code, body)
	}
	retro := wait("retro")
	if retro.GroupKey != "45.77.99.2" || len(retro.EventIDs) != 1 || !strings.HasPrefix(retro.RuleTitle, "Retro-hunt: ") {
		t.Errorf("retro alert = %+v", retro)
	}
}

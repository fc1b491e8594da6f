package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/tansa-sec/tansa/internal/scan"
	"github.com/tansa-sec/tansa/internal/scan/result"
)

// TestMain lets a copy of this test binary act as the tansa binary, so
// that a scan package built from it can be run as a real program: with
// TANSA_TEST_AS_TANSA=1 it runs the command line and exits.
func TestMain(m *testing.M) {
	if os.Getenv("TANSA_TEST_AS_TANSA") == "1" {
		if err := run(context.Background(), os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "tansa:", err)
			os.Exit(exitCode(err))
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeRoot is a tiny file system for `tansa scan --root`: a host name and
// a cron entry starting a script from /tmp, which the scanner flags.
func fakeRoot(t *testing.T, host string) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range map[string]string{
		"etc/hostname":        host + "\n",
		"etc/crontab":         "* * * * * root /tmp/.x/beacon.sh\n",
		"tmp/.x/beacon.sh":    "#!/bin/sh\ncurl http://203.0.113.9/\n",
		"etc/hosts":           "127.0.0.1 localhost\n",
		"home/ops/.bashrc":    "alias ll='ls -l'\n",
		"var/lib/dpkg/status": "",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestSweepsEndToEnd runs the binary's serve and scan commands: a scanner
// with an enrolment token uploads a sweep, which shows as an endpoint with
// its finding; a --out file is uploaded as a person would from the
// console; and each bad upload — replayed, truncated, foreign, not age,
// claiming another tenant, with an unknown or revoked token — is refused
// with its own message and audited.
func TestSweepsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	getenv := testEnv(map[string]string{"TANSA_ADMIN_PASSWORD": adminPassword})
	srv := startServe(t, dir, getenv)
	mk := func(args ...string) string {
		t.Helper()
		out, errOut, err := runCmd(t, getenv, append(args, "--data", dir)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut)
		}
		return strings.TrimSpace(out)
	}
	tenant := mk("tenant", "create", "--name", "Sweep Trading")
	other := mk("tenant", "create", "--name", "Other Trading")
	scanner := mk("token", "create", "--role", "scanner", "--tenant", tenant, "--name", "gpo package")
	admin := mk("token", "create", "--role", "tenant-admin", "--tenant", tenant, "--name", "it admin")
	ingest := mk("token", "create", "--role", "ingest", "--tenant", tenant, "--name", "shipper")

	c := newClient(t, srv.base)
	c.auth = "Bearer " + admin
	var key struct{ Recipient string }
	c.getJSON("/api/v1/fleet/key", &key)
	if !strings.HasPrefix(key.Recipient, "age1") {
		t.Fatalf("recipient %q", key.Recipient)
	}

	// A scanner uploads over HTTP with its enrolment token.
	root := fakeRoot(t, "branch-pc-07")
	env := testEnv(map[string]string{"TANSA_SCAN_TOKEN": scanner})
	if _, errOut, err := runCmd(t, env, "scan", "--root", root, "--server", srv.base, "--recipient", key.Recipient, "--retries", "0", "--verbose"); err != nil {
		t.Fatalf("scan upload: %v\n%s", err, errOut)
	}
	var assets struct {
		Items []struct {
			ID, Hostname string
			Findings     int
		}
		Total int
	}
	c.getJSON("/api/v1/fleet/assets", &assets)
	if assets.Total != 1 || assets.Items[0].Hostname != "branch-pc-07" || assets.Items[0].Findings != 1 {
		t.Fatalf("assets after the upload: %+v", assets)
	}
	var findings struct {
		Items []struct {
			Key     string
			Finding struct{ Rule, Message string }
		}
	}
	c.getJSON("/api/v1/fleet/findings", &findings)
	if len(findings.Items) != 1 || findings.Items[0].Finding.Rule != "persistence.user-writable-path" || !strings.Contains(findings.Items[0].Finding.Message, "/tmp/.x/beacon.sh") {
		t.Fatalf("findings: %+v", findings)
	}

	// An offline file, written with --out and uploaded as from the console.
	out := filepath.Join(t.TempDir(), "offline.tansa")
	if _, errOut, err := runCmd(t, testEnv(nil), "scan", "--root", fakeRoot(t, "ship-pc-01"), "--out", out, "--recipient", key.Recipient); err != nil {
		t.Fatalf("scan --out: %v\n%s", err, errOut)
	}
	sealed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	post := func(auth, path string, body []byte) (int, string) {
		req, _ := http.NewRequest("POST", srv.base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", scan.ContentType)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := post(admin, "/api/v1/fleet/upload", sealed); code != 201 || !strings.Contains(body, "ship-pc-01") {
		t.Fatalf("console upload: %d %s", code, body)
	}

	// Another server's key, and a result made for another tenant.
	foreignID, _ := age.GenerateX25519Identity()
	doc := func(tenantClaim string) []byte {
		r := &result.Result{Schema: 1, SweepID: fmt.Sprintf("%032x", time.Now().UnixNano()), Started: time.Now(), Finished: time.Now(),
			Tenant: tenantClaim, Host: result.Host{Hostname: "x"}}
		r.Normalize()
		b, _ := json.Marshal(r)
		return b
	}
	rcpt, err := age.ParseX25519Recipient(key.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := scan.Seal(doc(""), foreignID.Recipient())
	claim, _ := scan.Seal(doc(other), rcpt)
	revoked := mk("token", "create", "--role", "scanner", "--tenant", tenant, "--name", "lost laptop")
	var tok struct{ Items []struct{ ID, Name string } }
	c.getJSON("/api/v1/tokens?limit=100", &tok)
	for _, k := range tok.Items {
		if k.Name == "lost laptop" {
			if code, body := c.do("DELETE", "/api/v1/tokens/"+k.ID, "", ""); code != 200 {
				t.Fatalf("revoke: %d %s", code, body)
			}
		}
	}
	for _, tc := range []struct {
		name, token, path string
		body              []byte
		code              int
		msg               string
	}{
		{"replay", admin, "/api/v1/fleet/upload", sealed, 409, "already received"},
		{"truncated", scanner, "/api/v1/sweeps", sealed[:len(sealed)-40], 400, "truncated or was altered"},
		{"tampered", scanner, "/api/v1/sweeps", flip(sealed, len(sealed)-100), 400, "truncated or was altered"},
		{"foreign", scanner, "/api/v1/sweeps", foreign, 400, "another server's key"},
		{"not age", scanner, "/api/v1/sweeps", []byte(`{"schema":1}`), 400, "not a sealed Tansa sweep"},
		{"other tenant", scanner, "/api/v1/sweeps", claim, 403, "another tenant"},
		{"unknown token", "tansa_not-a-token-at-all-really", "/api/v1/sweeps", sealed, 401, "invalid, revoked or expired"},
		{"revoked token", revoked, "/api/v1/sweeps", sealed, 401, "invalid, revoked or expired"},
		{"ingest token", ingest, "/api/v1/sweeps", sealed, 403, "sweep.upload"},
	} {
		code, body := post(tc.token, tc.path, tc.body)
		if code != tc.code || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %d %s; want %d with %q", tc.name, code, body, tc.code, tc.msg)
		}
	}
	var audit struct {
		Items []struct {
			Action, Actor string
			After         json.RawMessage
		}
	}
	c.auth = ""
	c.login("admin", adminPassword)
	c.getJSON("/api/v1/audit?action=sweep.&limit=100", &audit)
	refused, uploaded := 0, 0
	for _, e := range audit.Items {
		switch e.Action {
		case "sweep.refuse":
			refused++
		case "sweep.upload":
			uploaded++
		}
	}
	// Nine refusals, eight rows: the truncated and the tampered file are
	// the same refusal ("truncated or was altered") from the same token
	// and address within a minute, audited once (Options.RefusalEvery).
	if refused != 8 || uploaded != 2 {
		for _, e := range audit.Items {
			t.Logf("%s %s %s", e.Action, e.Actor, e.After)
		}
		t.Errorf("audit: %d refusals and %d uploads, want 8 and 2", refused, uploaded)
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x40
	return c
}

// TestScanPackageEndToEnd builds a scan package from a real binary (a
// copy of this test binary, which acts as tansa under TANSA_TEST_AS_TANSA),
// runs it with no flags, and sees it read its signed configuration,
// upload into its tenant and campaign, and drop a finding a reviewer
// marked benign; a package altered after signing refuses to run.
func TestScanPackageEndToEnd(t *testing.T) {
	dir := t.TempDir()
	getenv := testEnv(map[string]string{"TANSA_ADMIN_PASSWORD": adminPassword})
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	plat := runtime.GOOS + "-" + runtime.GOARCH
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	srv := startServe(t, dir, getenv)
	// The release script's output goes into DATA/scan-binaries (the
	// default of fleet.binaries); the server reads it on each request.
	bins := filepath.Join(dir, "scan-binaries")
	if err := os.MkdirAll(bins, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, self, filepath.Join(bins, "tansa-"+plat+exe))
	out, _, err := runCmd(t, getenv, "tenant", "create", "--data", dir, "--name", "Package Trading")
	if err != nil {
		t.Fatal(err)
	}
	tenant := strings.TrimSpace(out)
	out, _, err = runCmd(t, getenv, "token", "create", "--data", dir, "--role", "tenant-admin", "--tenant", tenant, "--name", "it")
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv.base)
	c.auth = "Bearer " + strings.TrimSpace(out)
	var plats struct{ Items []struct{ Name string } }
	c.getJSON("/api/v1/fleet/platforms", &plats)
	if len(plats.Items) != 1 || plats.Items[0].Name != plat {
		t.Fatalf("platforms: %+v", plats)
	}
	var camp struct{ ID string }
	c.postJSON("/api/v1/fleet/campaigns", map[string]string{"name": "Q3 sweep"}, 201, &camp)

	pkg := func() string {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"platform": plat, "campaign": camp.ID, "schedule": "24h"})
		code, body := c.do("POST", "/api/v1/fleet/packages", "application/json", string(b))
		if code != 200 {
			t.Fatalf("package: %d %.300s", code, body)
		}
		p := filepath.Join(t.TempDir(), "tansa-scan"+exe)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	runPkg := func(p string, args ...string) (string, error) {
		cmd := exec.Command(p, append([]string{"scan"}, args...)...)
		cmd.Env = append(os.Environ(), "TANSA_TEST_AS_TANSA=1")
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	p := pkg()
	show, err := runPkg(p, "--show-config")
	if err != nil {
		t.Fatalf("--show-config: %v\n%s", err, show)
	}
	for _, want := range []string{"signed by ed25519 key", "server:     " + srv.base, "tenant:     " + tenant, "campaign:   " + camp.ID, "schedule:   24h", "token:      tansa_"} {
		if !strings.Contains(show, want) {
			t.Errorf("--show-config lacks %q:\n%s", want, show)
		}
	}
	// The package sweeps and uploads with nothing on its command line.
	if out, err := runPkg(p, "--root", fakeRoot(t, "pkg-pc-01"), "--retries", "0"); err != nil {
		t.Fatalf("package run: %v\n%s", err, out)
	}
	var sweeps struct {
		Items []struct{ Hostname, Campaign string }
	}
	c.getJSON("/api/v1/fleet/sweeps?campaign="+camp.ID, &sweeps)
	if len(sweeps.Items) != 1 || sweeps.Items[0].Hostname != "pkg-pc-01" {
		t.Fatalf("campaign sweeps: %+v", sweeps)
	}
	var fs struct {
		Items []struct{ Key string }
	}
	c.getJSON("/api/v1/fleet/findings", &fs)
	if len(fs.Items) != 1 {
		t.Fatalf("findings: %+v", fs)
	}
	// IT says the cron job is theirs: the next package excepts it.
	c.postJSON("/api/v1/fleet/reviews", map[string]string{"key": fs.Items[0].Key, "verdict": "benign", "comment": "our backup job"}, 201, nil)
	p2 := pkg()
	if show, _ := runPkg(p2, "--show-config"); !strings.Contains(show, "exceptions: 1") {
		t.Errorf("the new package carries no exception:\n%s", show)
	}
	if out, err := runPkg(p2, "--root", fakeRoot(t, "pkg-pc-02"), "--retries", "0"); err != nil {
		t.Fatalf("second package run: %v\n%s", err, out)
	}
	var assets struct {
		Items []struct {
			Hostname string
			Findings int
		}
	}
	c.getJSON("/api/v1/fleet/assets?q=pkg-pc-02", &assets)
	if len(assets.Items) != 1 || assets.Items[0].Findings != 0 {
		t.Errorf("the excepted finding was reported again: %+v", assets)
	}
	// Altering the configuration after signing breaks the signature.
	b, _ := os.ReadFile(p2)
	i := bytes.LastIndex(b, []byte(`"schedule":"24h"`))
	if i < 0 {
		t.Fatal("no configuration in the package")
	}
	copy(b[i:], `"schedule":"48h"`)
	bad := filepath.Join(t.TempDir(), "altered"+exe)
	if err := os.WriteFile(bad, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := runPkg(bad, "--show-config"); err == nil || !strings.Contains(out, "signature does not verify") {
		t.Errorf("altered package: %v\n%s", err, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an io.Writer that run may write to while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testEnv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// runCmd runs one short command to completion.
func runCmd(t *testing.T, getenv func(string) string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb syncBuffer
	err = run(context.Background(), append([]string{"tansa"}, args...), getenv, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// e2eServer is a "tansa serve" running in the test.
type e2eServer struct {
	base   string // http://ADDR
	stdout *syncBuffer
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

var listeningRE = regexp.MustCompile(`Tansa is listening on (http://\S+)`)

// startServe runs "tansa serve" on dir until the test ends (or stop is
// called) and waits until it is ready.
func startServe(t *testing.T, dir string, getenv func(string) string) *e2eServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &e2eServer{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- run(ctx, []string{"tansa", "serve", "--data", dir, "--listen", "127.0.0.1:0"}, getenv, strings.NewReader(""), s.stdout, s.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(time.Minute):
			t.Errorf("serve did not stop within a minute of its context ending")
		}
	})
	// Wait for the address, then for readiness; give up only if run ends
	// or after a generous time on a busy machine.
	giveUp := time.After(2 * time.Minute)
	for s.base == "" {
		if m := listeningRE.FindStringSubmatch(s.stdout.String()); m != nil {
			s.base = m[1]
			break
		}
		select {
		case err := <-s.done:
			t.Fatalf("serve ended before listening: %v\nstderr:\n%s", err, s.stderr)
		case <-giveUp:
			t.Fatalf("serve did not print its address; stdout %q, stderr:\n%s", s.stdout, s.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	for {
		res, err := http.Get(s.base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("serve ended before ready: %v\nstderr:\n%s", err, s.stderr)
		case <-giveUp:
			t.Fatalf("/healthz never answered 200 (last error %v)", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop ends the server as SIGINT would and returns what run returned.
func (s *e2eServer) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(time.Minute):
		t.Fatalf("serve did not stop within a minute of its context ending")
		return nil
	}
}

// e2eClient is a browser-like HTTP client: it keeps cookies and does not
// follow redirects, so that each answer can be checked.
type e2eClient struct {
	t    *testing.T
	base string
	http *http.Client
	auth string
}

func newClient(t *testing.T, base string) *e2eClient {
	jar, _ := cookiejar.New(nil)
	return &e2eClient{t: t, base: base, http: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *e2eClient) do(method, path, contentType, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (c *e2eClient) login(username, password string) {
	c.t.Helper()
	code, body := c.do("POST", "/login", "application/x-www-form-urlencoded", url.Values{"username": {username}, "password": {password}}.Encode())
	if code != http.StatusSeeOther {
		c.t.Fatalf("log in as %s: status %d, want 303; body %.300s", username, code, body)
	}
}

func (c *e2eClient) postJSON(path string, v any, wantStatus int, out any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	code, body := c.do("POST", path, "application/json", string(b))
	if code != wantStatus {
		c.t.Fatalf("POST %s: status %d, want %d; body %s", path, code, wantStatus, body)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(body), out); err != nil {
			c.t.Fatalf("POST %s: %v in %s", path, err, body)
		}
	}
}

func (c *e2eClient) getJSON(path string, out any) {
	c.t.Helper()
	code, body := c.do("GET", path, "", "")
	if code != http.StatusOK {
		c.t.Fatalf("GET %s: status %d, want 200; body %s", path, code, body)
	}
	if err := json.Unmarshal([]byte(body), out); err != nil {
		c.t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

const adminPassword = "e2e-admin-password-2026"

// TestServeEndToEnd runs the binary's serve command, logs in as the first
// administrator, creates a tenant and a user through the API, finds both in
// the audit log, authenticates with a token made by the CLI while the server
// runs, and stops gracefully.
// cliTenant creates a tenant named name with the CLI beside the server
// running on dir, and returns its ID and a function that makes a token of
// a role for it.
func cliTenant(t *testing.T, getenv func(string) string, dir, name string) (string, func(role string) string) {
	t.Helper()
	out, errOut, err := runCmd(t, getenv, "tenant", "create", "--data", dir, "--name", name)
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut)
	}
	tenant := strings.TrimSpace(out)
	return tenant, func(role string) string {
		t.Helper()
		out, errOut, err := runCmd(t, getenv, "token", "create", "--data", dir, "--role", role, "--tenant", tenant, "--name", role+" e2e")
		if err != nil {
			t.Fatalf("token create: %v\n%s", err, errOut)
		}
		return strings.TrimSpace(out)
	}
}

func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	getenv := testEnv(map[string]string{"TANSA_ADMIN_PASSWORD": adminPassword})
	srv := startServe(t, dir, getenv)

	c := newClient(t, srv.base)
	c.login("admin", adminPassword)

	var tenant struct{ ID, Name string }
	c.postJSON("/api/v1/tenants", map[string]string{"name": "E2E Trading", "country": "JP"}, http.StatusCreated, &tenant)
	if tenant.ID == "" || tenant.Name != "E2E Trading" {
		t.Fatalf("created tenant = %+v, want an ID and the name", tenant)
	}
	var user struct{ ID, Username, Role string }
	c.postJSON("/api/v1/users", map[string]string{"username": "e2e-viewer", "role": "tenant-viewer", "tenant_id": tenant.ID,
		"password": "e2e-viewer-password-1"}, http.StatusCreated, &user)
	if user.ID == "" || user.Username != "e2e-viewer" || user.Role != "tenant-viewer" {
		t.Fatalf("created user = %+v", user)
	}

	var audit struct {
		Items []struct {
			Action, Actor, Addr string
			ObjectID            string `json:"object_id"`
		}
		Total int
	}
	c.getJSON("/api/v1/audit", &audit)
	found := map[string]bool{}
	for _, e := range audit.Items {
		if e.Actor == "user:admin" && e.Addr == "127.0.0.1" {
			found[e.Action+" "+e.ObjectID] = true
		}
	}
	for _, want := range []string{"tenant.create " + tenant.ID, "user.create " + user.ID} {
		if !found[want] {
			t.Errorf("audit has no %s by user:admin from 127.0.0.1; entries: %+v", want, audit.Items)
		}
	}

	// The new user logs in and sees its tenant only.
	v := newClient(t, srv.base)
	v.login("e2e-viewer", "e2e-viewer-password-1")
	var tenants struct {
		Items []struct{ ID string }
		Total int
	}
	v.getJSON("/api/v1/tenants", &tenants)
	if tenants.Total != 1 || len(tenants.Items) != 1 || tenants.Items[0].ID != tenant.ID {
		t.Errorf("the viewer's tenants = %+v, want only %s", tenants, tenant.ID)
	}

	// A token made by the CLI next to the running server authenticates.
	out, errOut, err := runCmd(t, getenv, "token", "create", "--data", dir, "--role", "ingest", "--tenant", tenant.ID, "--name", "e2e shipper")
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, errOut)
	}
	secret := strings.TrimSpace(out)
	if !strings.HasPrefix(secret, "tansa_") || strings.Contains(secret, "\n") {
		t.Fatalf("token create printed %q, want one tansa_ secret", out)
	}
	tc := newClient(t, srv.base)
	tc.auth = "Bearer " + secret
	var me struct {
		Kind, Name, Role string
		TenantID         string `json:"tenant_id"`
	}
	tc.getJSON("/api/v1/me", &me)
	if me.Kind != "token" || me.Role != "ingest" || me.TenantID != tenant.ID || me.Name != "e2e shipper" {
		t.Errorf("GET /api/v1/me with the CLI's token = %+v, want the ingest token of %s", me, tenant.ID)
	}
	if code, _ := tc.do("GET", "/api/v1/tenants", "", ""); code != http.StatusForbidden {
		t.Errorf("ingest token listing tenants: status %d, want 403", code)
	}

	if err := srv.stop(t); err != nil {
		t.Errorf("serve returned %v after its context ended, want nil (graceful)\nstderr:\n%s", err, srv.stderr)
	}
	if res, err := http.Get(srv.base + "/healthz"); err == nil {
		res.Body.Close()
		t.Errorf("the server still answers after stopping: %d", res.StatusCode)
	}
}

// TestFirstStartPassword checks that without TANSA_ADMIN_PASSWORD the first
// start makes a random password, prints it, writes it to a file only its
// owner reads, and that it logs in; and that a restart keeps the data.
func TestFirstStartPassword(t *testing.T) {
	dir := t.TempDir()
	srv := startServe(t, dir, testEnv(nil))
	file := filepath.Join(dir, "initial-admin-password")
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatalf("first start wrote no %s: %v", file, err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("%s has mode %o, want 600", file, perm)
	}
	b, _ := os.ReadFile(file)
	pw := strings.TrimSpace(string(b))
	if len(pw) < 12 {
		t.Fatalf("initial password %q is too short", pw)
	}
	if !strings.Contains(srv.stderr.String(), pw) {
		t.Errorf("the initial password is not printed at first start; stderr:\n%s", srv.stderr)
	}
	newClient(t, srv.base).login("admin", pw)
	if err := srv.stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// A second start of the same directory neither makes a new admin nor
	// prints a password, and the old one still works.
	srv2 := startServe(t, dir, testEnv(nil))
	if strings.Contains(srv2.stderr.String(), "password") {
		t.Errorf("second start printed a password:\n%s", srv2.stderr)
	}
	newClient(t, srv2.base).login("admin", pw)
}

func TestServeRefusesForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "thesis.docx"), []byte("years of work"), 0o600)
	_, _, err := runCmd(t, testEnv(map[string]string{"TANSA_ADMIN_PASSWORD": adminPassword}), "serve", "--data", dir, "--listen", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "is not a Tansa data directory") {
		t.Fatalf("serve on a foreign directory: %v, want \"is not a Tansa data directory\"", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("serve wrote into the foreign directory: %v", names)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, _, err := runCmd(t, testEnv(nil), args...)
		if err != nil || out != "tansa "+version+"\n" {
			t.Errorf("tansa %s = %q, %v; want %q", args[0], out, err, "tansa "+version+"\n")
		}
	}
}

// TestHelp checks that --help works on every command and action: it exits
// successfully and prints a usage to stdout.
func TestHelp(t *testing.T) {
	runs := [][]string{{"--help"}, {"help"}, {"-h"}}
	for _, c := range commands() {
		runs = append(runs, []string{c.name, "--help"}, []string{c.name, "-h"})
	}
	for _, group := range []struct {
		name  string
		verbs []string
	}{{"tenant", []string{"create", "list"}}, {"user", []string{"create", "list", "reset-password"}}, {"token", []string{"create", "list", "revoke"}}} {
		for _, v := range group.verbs {
			runs = append(runs, []string{group.name, v, "--help"})
		}
	}
	for _, args := range runs {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, errOut, err := runCmd(t, testEnv(nil), args...)
			if err != nil {
				t.Fatalf("tansa %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
			}
			if !strings.Contains(out, "Usage:") {
				t.Errorf("tansa %s printed no \"Usage:\" to stdout:\n%s", strings.Join(args, " "), out)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args       []string
		wantStderr string
	}{
		{nil, "Usage:"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"serve", "--no-such-flag"}, "no-such-flag"},
		{[]string{"tenant"}, "Usage:"},
		{[]string{"tenant", "destroy"}, `unknown action "destroy"`},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.args), func(t *testing.T) {
			_, errOut, err := runCmd(t, testEnv(nil), tc.args...)
			if !errors.Is(err, errUsage) || exitCode(err) != 2 {
				t.Errorf("tansa %v = %v (exit %d), want a usage error (exit 2)", tc.args, err, exitCode(err))
			}
			if !strings.Contains(errOut, tc.wantStderr) {
				t.Errorf("tansa %v stderr %q does not say %q", tc.args, errOut, tc.wantStderr)
			}
		})
	}
}

// TestAdminCommands checks the data-directory commands against each other.
func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	getenv := testEnv(nil)
	out, errOut, err := runCmd(t, getenv, "tenant", "create", "--data", dir, "--name", "CLI Corp", "--country", "JP", "--time-zone", "Asia/Tokyo")
	if err != nil {
		t.Fatalf("tenant create: %v %s", err, errOut)
	}
	id := strings.TrimSpace(out)
	out, _, err = runCmd(t, getenv, "tenant", "list", "--data", dir)
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "CLI Corp") || !strings.Contains(out, "Asia/Tokyo") {
		t.Errorf("tenant list = %q, %v; want the new tenant", out, err)
	}
	_, errOut, err = runCmd(t, getenv, "user", "create", "--data", dir, "--username", "cli-viewer", "--role", "tenant-viewer", "--tenant", id)
	if err != nil || !strings.Contains(errOut, "password for cli-viewer: ") {
		t.Errorf("user create without --password: %v, stderr %q; want a printed password", err, errOut)
	}
	_, _, err = runCmd(t, getenv, "user", "create", "--data", dir, "--username", "cli-orphan", "--role", "tenant-viewer", "--tenant", "no-such-tenant", "--password", "long-enough-password")
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("user create in a missing tenant: %v, want \"does not exist\"", err)
	}
	out, _, err = runCmd(t, getenv, "user", "list", "--data", dir, "--tenant", id)
	if err != nil || !strings.Contains(out, "cli-viewer") || strings.Contains(out, "cli-orphan") {
		t.Errorf("user list = %q, %v", out, err)
	}
	_, _, err = runCmd(t, getenv, "token", "create", "--data", dir, "--role", "ingest")
	if err == nil || !strings.Contains(err.Error(), "tenant_id") {
		t.Errorf("ingest token without --tenant: %v, want an error about the tenant", err)
	}
}

package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/demo"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// consoleEnv is a real server over a real SQLite store holding the demo's
// tenants and users plus a provider administrator "admin".
type consoleEnv struct {
	t      *testing.T
	srv    *Server
	ts     *httptest.Server
	access *access.Service
	hq, vn tansa.Tenant
}

func newConsoleEnv(t *testing.T) *consoleEnv {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tansa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// Every test logs in several times from 127.0.0.1; the login rate limit
	// has its own tests in the access package.
	acc := access.New(db, access.Options{LoginRate: 1000, LoginBurst: 1000})
	sys := access.Caller{Principal: access.System("test"), Addr: "test"}
	if _, err := acc.CreateUser(ctx, sys, access.UserInput{Username: ptr("admin"), Name: ptr("Ada Admin"),
		Email: ptr("admin@sakura-trading.example"), Role: ptr(tansa.RoleProviderAdmin), Language: ptr("en"),
		Password: ptr(demo.Password)}); err != nil {
		t.Fatal(err)
	}
	env := &demo.Env{Access: acc}
	for _, step := range demo.Steps() {
		if err := step.Run(ctx, env); err != nil {
			t.Fatalf("demo %s: %v", step.Name, err)
		}
	}
	srv := NewServer(Deps{Access: acc, Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		Metrics: prometheus.NewRegistry(), Version: "test"})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &consoleEnv{t: t, srv: srv, ts: ts, access: acc, hq: env.HQ, vn: env.Subsidiary}
}

// userID looks a user up by username, as the system.
func (e *consoleEnv) userID(username string) string {
	e.t.Helper()
	sys := access.Caller{Principal: access.System("test")}
	us, _, err := e.access.Users(e.t.Context(), sys, access.UserQuery{Text: username, Page: access.Page{Limit: 10}})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, u := range us {
		if u.Username == username {
			return u.ID
		}
	}
	e.t.Fatalf("no user %q", username)
	return ""
}

// browser is an HTTP client with its own cookies that does not follow
// redirects, so tests see each 303 and where it points.
type browser struct {
	e *consoleEnv
	c *http.Client
}

func (e *consoleEnv) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// login logs in as username with the demo password and returns the browser.
func (e *consoleEnv) login(username string) *browser {
	e.t.Helper()
	b := e.browser()
	resp := b.post("/login", url.Values{"username": {username}, "password": {demo.Password}})
	if resp.code != http.StatusSeeOther || resp.location != "/" {
		e.t.Fatalf("login %s: %d %q\n%s", username, resp.code, resp.location, resp.body)
	}
	return b
}

type response struct {
	code     int
	location string
	body     string
}

func (b *browser) do(req *http.Request) response {
	b.e.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return response{code: res.StatusCode, location: res.Header.Get("Location"), body: string(body)}
}

func (b *browser) get(path string) response {
	b.e.t.Helper()
	req, err := http.NewRequest("GET", b.e.ts.URL+path, nil)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) response {
	b.e.t.Helper()
	req, err := http.NewRequest("POST", b.e.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// want fails unless r has status code and, for each of has, contains it.
func (r response) want(t *testing.T, code int, has ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d (location %q)\n%s", r.code, code, r.location, r.body)
	}
	for _, s := range has {
		if !strings.Contains(r.body, s) {
			t.Errorf("page lacks %q\n%s", s, r.body)
		}
	}
}

func (r response) wantNot(t *testing.T, hasNot ...string) {
	t.Helper()
	for _, s := range hasNot {
		if strings.Contains(r.body, s) {
			t.Errorf("page shows %q, which it must not", s)
		}
	}
}

// main is the page without its header and navigation (which list the
// tenant switcher's choices), so that tests look at the content alone.
func (r response) main() response {
	if i := strings.Index(r.body, `<main id="main"`); i >= 0 {
		r.body = r.body[i:]
	}
	return r
}

// redirectTo fails unless r is a 303 to a location starting with prefix.
func (r response) redirectTo(t *testing.T, prefix string) string {
	t.Helper()
	if r.code != http.StatusSeeOther || !strings.HasPrefix(r.location, prefix) {
		t.Fatalf("got %d to %q, want 303 to %s…\n%s", r.code, r.location, prefix, r.body)
	}
	return r.location
}

func TestConsoleTenants(t *testing.T) {
	e := newConsoleEnv(t)
	admin := e.login("admin")

	// A mistake keeps what was typed and says what is wrong.
	bad := admin.post("/admin/tenants", url.Values{"name": {"Sakura Trading Thailand"}, "country": {"Thailand"},
		"language": {"en"}, "time_zone": {"Asia/Bangkok"}})
	bad.want(t, http.StatusBadRequest, "Not saved: country:", `value="Sakura Trading Thailand"`, `value="Thailand"`)

	loc := admin.post("/admin/tenants", url.Values{"name": {"Sakura Trading Thailand"}, "country": {"th"},
		"language": {"en"}, "time_zone": {"Asia/Bangkok"}}).redirectTo(t, "/admin/tenants/")
	if !strings.HasSuffix(loc, "flash=flash.tenant_created") {
		t.Errorf("location %q carries no flash", loc)
	}
	admin.get(loc).want(t, http.StatusOK, "The tenant was created.", "Sakura Trading Thailand", "TH", "Asia/Bangkok")
	admin.get("/admin/tenants").want(t, http.StatusOK, "Sakura Trading Thailand", e.hq.Name, e.vn.Name, `type="search"`)
	search := admin.get("/admin/tenants?q=thai").main()
	search.want(t, http.StatusOK, "Sakura Trading Thailand")
	search.wantNot(t, e.vn.Name)

	// Contacts: rows are added, blank rows dropped, and a bad row refused
	// with the input kept.
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], "/admin/tenants/")
	form := url.Values{"name": {"Sakura Trading Thailand"}, "country": {"TH"}, "language": {"en"}, "time_zone": {"Asia/Bangkok"},
		"contact_name": {"Somchai IT", ""}, "contact_email": {"it@sakura-th.example", ""},
		"contact_phone": {"+66-2-000-0000", ""}, "contact_role": {"IT", ""}}
	admin.post("/admin/tenants/"+id, form).redirectTo(t, "/admin/tenants/"+id)
	admin.get("/admin/tenants/"+id).want(t, http.StatusOK, `value="Somchai IT"`, `value="it@sakura-th.example"`)
	form.Set("contact_email", "not-an-address")
	admin.post("/admin/tenants/"+id, form).want(t, http.StatusBadRequest, "contacts[0].email", `value="not-an-address"`)

	admin.get("/admin/tenants/no-such-tenant").want(t, http.StatusNotFound)
}

func TestConsoleUsers(t *testing.T) {
	e := newConsoleEnv(t)
	admin := e.login("admin")

	create := url.Values{"username": {"th-viewer"}, "name": {"Thanh Viewer"}, "email": {"th@sakura-vn.example"},
		"role": {"tenant-viewer"}, "tenant_id": {e.vn.ID}, "language": {"en"}, "password": {"a-long-enough-password"}}
	loc := admin.post("/admin/users", create).redirectTo(t, "/admin/users?")
	admin.get(loc).want(t, http.StatusOK, "The user was created.", "th-viewer", "Thanh Viewer", e.vn.Name)
	admin.get("/admin/users").want(t, http.StatusOK, "th-viewer", "hq-viewer", "vn-admin")

	// A taken username is a conflict, shown beside the form with the input kept.
	create.Set("username", "hq-viewer")
	admin.post("/admin/users", create).want(t, http.StatusConflict, "Not saved:", `value="hq-viewer"`, `value="Thanh Viewer"`)
	create.Set("username", "th-viewer2")
	create.Set("password", "short")
	admin.post("/admin/users", create).want(t, http.StatusBadRequest, "password: at least 12 characters", `value="th-viewer2"`)

	// Filters.
	byRole := admin.get("/admin/users?role=tenant-admin")
	byRole.want(t, http.StatusOK, "hq-admin", "vn-admin")
	byRole.wantNot(t, "th-viewer", "hq-viewer")
	byTenant := admin.get("/admin/users?tenant=" + e.hq.ID)
	byTenant.want(t, http.StatusOK, "hq-admin", "hq-viewer")
	byTenant.wantNot(t, "vn-admin", "th-viewer")
	paged := admin.get("/admin/users?limit=2")
	paged.want(t, http.StatusOK, `rel="next"`, "1–2 of 7")
	admin.get("/admin/users?limit=2&offset=2").want(t, http.StatusOK, `rel="prev"`, "3–4 of 7")

	// Reset shows a new password once, and it works.
	id := e.userID("th-viewer")
	reset := admin.post("/admin/users/"+id, url.Values{"action": {"reset"}, "next": {"/admin/users?q=th"}})
	reset.want(t, http.StatusOK, "th-viewer", `href="/admin/users?q=th"`)
	m := regexp.MustCompile(`id="new-password">([^<]+)<`).FindStringSubmatch(reset.body)
	if m == nil {
		t.Fatalf("no new password on the page\n%s", reset.body)
	}
	e.browser().post("/login", url.Values{"username": {"th-viewer"}, "password": {m[1]}}).redirectTo(t, "/")

	// Disabling ends logins; enabling restores them.
	admin.post("/admin/users/"+id, url.Values{"action": {"disable"}, "next": {"/admin/users?flash=x&q=th"}}).
		redirectTo(t, "/admin/users?q=th&flash=flash.user_disabled")
	admin.get("/admin/users?q=th").want(t, http.StatusOK, "disabled", `value="enable"`)
	e.browser().post("/login", url.Values{"username": {"th-viewer"}, "password": {m[1]}}).want(t, http.StatusUnauthorized)
	admin.post("/admin/users/"+id, url.Values{"action": {"enable"}}).redirectTo(t, "/")
	e.browser().post("/login", url.Values{"username": {"th-viewer"}, "password": {m[1]}}).redirectTo(t, "/")

	admin.post("/admin/users/"+id, url.Values{"action": {"explode"}}).want(t, http.StatusBadRequest, "action:")
	// Nobody disables themselves.
	admin.post("/admin/users/"+e.userID("admin"), url.Values{"action": {"disable"}}).want(t, http.StatusBadRequest, "disable yourself")
}

func TestConsoleTokens(t *testing.T) {
	e := newConsoleEnv(t)
	admin := e.login("admin")
	admin.get("/admin/tokens").want(t, http.StatusOK, "No API tokens yet.")

	admin.post("/admin/tokens", url.Values{"name": {""}, "role": {"ingest"}, "tenant_id": {e.hq.ID}, "expires_in": {"720h"}}).
		want(t, http.StatusBadRequest, "name: required")
	made := admin.post("/admin/tokens", url.Values{"name": {"proxy-syslog-tokyo"}, "role": {"tenant-viewer"}, "tenant_id": {e.hq.ID}, "expires_in": {"720h"}})
	made.want(t, http.StatusCreated, "proxy-syslog-tokyo", `data-copy="token-secret"`)
	m := regexp.MustCompile(`id="token-secret">(tansa_[A-Za-z0-9_-]+)<`).FindStringSubmatch(made.body)
	if m == nil {
		t.Fatalf("no secret on the page\n%s", made.body)
	}
	secret := m[1]
	api := func() int {
		req, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		return admin.do(req).code
	}
	if code := api(); code != http.StatusOK {
		t.Fatalf("the new token gets %d from the API", code)
	}

	list := admin.get("/admin/tokens")
	list.want(t, http.StatusOK, "proxy-syslog-tokyo", secret[:12], "data-confirm=")
	list.wantNot(t, secret)
	id := regexp.MustCompile(`action="/admin/tokens/([^/"]+)/revoke"`).FindStringSubmatch(list.body)
	if id == nil {
		t.Fatal("no revoke button")
	}
	admin.post("/admin/tokens/"+id[1]+"/revoke", nil).redirectTo(t, "/admin/tokens?flash=flash.token_revoked")
	if code := api(); code != http.StatusUnauthorized {
		t.Errorf("a revoked token gets %d from the API, want 401", code)
	}
	revoked := admin.get("/admin/tokens")
	revoked.want(t, http.StatusOK, "revoked")
	revoked.wantNot(t, "/revoke")
}

func TestConsoleAudit(t *testing.T) {
	e := newConsoleEnv(t)
	admin := e.login("admin")
	admin.post("/admin/tenants", url.Values{"name": {"Audited Co."}, "language": {"ja"}, "time_zone": {"Asia/Tokyo"}}).
		redirectTo(t, "/admin/tenants/")

	all := admin.get("/admin/audit")
	all.want(t, http.StatusOK, "tenant.create", "user.create", "login.ok", "<details>", "Audited Co.", "user:admin")
	onlyUsers := admin.get("/admin/audit?action=user.")
	onlyUsers.want(t, http.StatusOK, "user.create")
	onlyUsers.wantNot(t, "tenant.create", "login.ok")
	admin.get("/admin/audit?actor=user:admin").want(t, http.StatusOK, "tenant.create", "login.ok")
	future := admin.get("/admin/audit?since=2999-01-01T00:00")
	future.want(t, http.StatusOK, "No audit entries match.")
	admin.get("/admin/audit?until=yesterday").want(t, http.StatusBadRequest, "until:", `value="yesterday"`)
	admin.get("/admin/audit?limit=3").want(t, http.StatusOK, `rel="next"`)

	// A tenant administrator sees its own tenant's entries only.
	vn := e.login("vn-admin").get("/admin/audit")
	vn.want(t, http.StatusOK, "vn-viewer")
	vn.wantNot(t, "hq-viewer", "Audited Co.")
	e.login("vn-viewer").get("/admin/audit").want(t, http.StatusForbidden)
}

func TestConsoleTenantWalls(t *testing.T) {
	e := newConsoleEnv(t)
	vn := e.login("vn-admin")

	users := vn.get("/admin/users")
	users.want(t, http.StatusOK, "<code>vn-viewer</code>", "<code>vn-admin</code>")
	users.wantNot(t, "hq-viewer", "hq-admin", "<code>analyst</code>", "<code>admin</code>")
	asked := vn.get("/admin/users?tenant=" + e.hq.ID)
	asked.want(t, http.StatusOK, "No users match.")
	asked.wantNot(t, "hq-viewer", "hq-admin")

	vn.get("/admin/tenants/"+e.hq.ID).want(t, http.StatusNotFound)
	tenants := vn.get("/admin/tenants")
	tenants.want(t, http.StatusOK, e.vn.Name)
	tenants.wantNot(t, e.hq.Name, "tenant-create")
	vn.post("/admin/tenants/"+e.hq.ID, url.Values{"name": {"Taken over"}}).want(t, http.StatusForbidden)
	vn.post("/admin/users/"+e.userID("hq-viewer"), url.Values{"action": {"reset"}}).want(t, http.StatusNotFound)
	vn.post("/admin/users/"+e.userID("hq-viewer"), url.Values{"action": {"disable"}}).want(t, http.StatusNotFound)
	// A tenant administrator cannot make a user in another tenant nor a
	// provider user; the form re-renders with the service's refusal.
	vn.post("/admin/users", url.Values{"username": {"mole"}, "role": {"tenant-viewer"}, "tenant_id": {e.hq.ID},
		"password": {"a-long-enough-password"}}).want(t, http.StatusBadRequest, "tenant_id:", `value="mole"`)
	vn.post("/admin/users", url.Values{"username": {"mole"}, "role": {"provider-admin"},
		"password": {"a-long-enough-password"}}).want(t, http.StatusForbidden, "may not grant")
	vn.post("/switch-tenant", url.Values{"tenant": {e.hq.ID}}).want(t, http.StatusNotFound)

	viewer := e.login("hq-viewer")
	viewer.get("/admin/users").want(t, http.StatusForbidden)
	viewer.get("/admin/tokens").want(t, http.StatusForbidden)
	viewer.get("/admin/tenants/"+e.vn.ID).want(t, http.StatusNotFound)
	own := viewer.get("/admin/tenants/" + e.hq.ID)
	own.want(t, http.StatusOK, e.hq.Name, "Group CSIRT")
	own.wantNot(t, "tenant-edit")
}

func TestConsoleSwitchTenant(t *testing.T) {
	e := newConsoleEnv(t)
	admin := e.login("admin")
	admin.get("/").want(t, http.StatusOK, e.hq.Name, e.vn.Name)

	admin.post("/switch-tenant", url.Values{"tenant": {e.vn.ID}, "next": {"/"}}).redirectTo(t, "/")
	home := admin.get("/")
	home.want(t, http.StatusOK, e.vn.Name, "You can see 1 tenant(s).")
	users := admin.get("/admin/users")
	users.want(t, http.StatusOK, "vn-viewer")
	users.wantNot(t, "hq-viewer")

	// Without next, back to the referring page, minus its flash.
	req, _ := http.NewRequest("POST", e.ts.URL+"/switch-tenant", strings.NewReader("tenant="))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", e.ts.URL+"/admin/users?q=v&flash=flash.user_created")
	if got := admin.do(req).redirectTo(t, "/admin/users"); got != "/admin/users?q=v" {
		t.Errorf("back to %q, want /admin/users?q=v", got)
	}
	admin.get("/").want(t, http.StatusOK, "You can see 2 tenant(s).")

	// Off-site next is refused.
	admin.post("/switch-tenant", url.Values{"tenant": {""}, "next": {"//evil.example/"}}).redirectTo(t, "/")
	if loc := admin.post("/switch-tenant", url.Values{"next": {"https://evil.example/"}}).location; loc != "/" {
		t.Errorf("off-site next led to %q", loc)
	}
	admin.post("/switch-tenant", url.Values{"tenant": {"no-such-tenant"}}).want(t, http.StatusNotFound)
}

func TestConsoleLanguageAndSettings(t *testing.T) {
	e := newConsoleEnv(t)
	viewer := e.login("vn-viewer") // may not read users, yet sees their own profile

	viewer.post("/language", url.Values{"language": {"ja"}, "next": {"/settings?flash=flash.settings_saved"}}).redirectTo(t, "/settings")
	viewer.get("/settings").want(t, http.StatusOK, `lang="ja"`, "個人設定", `value="Mai VN-Viewer"`, `value="vn-viewer@sakura-trading.example"`)
	viewer.post("/language", url.Values{"language": {"xx"}, "next": {"/"}}).want(t, http.StatusBadRequest, "language:")
	viewer.post("/language", url.Values{"language": {"en"}, "next": {"//evil.example"}}).redirectTo(t, "/")

	viewer.post("/settings", url.Values{"form": {"profile"}, "name": {"Mai V."}, "email": {""}, "language": {"en"},
		"time_zone": {"Mars/Olympus"}}).want(t, http.StatusBadRequest, "time_zone:", `value="Mars/Olympus"`, `value="Mai V."`)
	viewer.post("/settings", url.Values{"form": {"profile"}, "name": {"Mai V."}, "language": {"en"},
		"time_zone": {"Asia/Ho_Chi_Minh"}}).redirectTo(t, "/settings?flash=flash.settings_saved")
	sys := access.Caller{Principal: access.System("test")}
	u, err := e.access.User(t.Context(), sys, e.userID("vn-viewer"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Mai V." || u.Email != "vn-viewer@sakura-trading.example" || u.TimeZone != "Asia/Ho_Chi_Minh" {
		t.Errorf("after saving: name %q, e-mail %q, zone %q; an empty e-mail of an unknown user must stay", u.Name, u.Email, u.TimeZone)
	}

	// An administrator sees and may clear their own e-mail.
	admin := e.login("admin")
	admin.get("/settings").want(t, http.StatusOK, `value="admin@sakura-trading.example"`, `name="known"`)

	viewer.post("/settings", url.Values{"form": {"password"}, "current": {"wrong"}, "password": {"new-password-2026"},
		"confirm": {"new-password-2026"}}).want(t, http.StatusBadRequest, "current password")
	viewer.post("/settings", url.Values{"form": {"password"}, "current": {demo.Password}, "password": {"new-password-2026"},
		"confirm": {"new-password-2027"}}).want(t, http.StatusBadRequest, "confirm:")
	viewer.post("/settings", url.Values{"form": {"password"}, "current": {demo.Password}, "password": {"new-password-2026"},
		"confirm": {"new-password-2026"}}).redirectTo(t, "/login?flash=flash.password_changed")
	viewer.get("/settings").redirectTo(t, "/login")
	e.browser().post("/login", url.Values{"username": {"vn-viewer"}, "password": {"new-password-2026"}}).redirectTo(t, "/")
}

func TestBackTo(t *testing.T) {
	for _, c := range []struct{ next, referer, want string }{
		{"/admin/users?q=a&flash=flash.user_created", "", "/admin/users?q=a"},
		{"", "http://example.test/admin/audit?action=user.&flash=x", "/admin/audit?action=user."},
		{"//evil.example/x", "", "/"},
		{"https://evil.example/", "", "/"},
		{"/\\evil.example", "", "/"},
		{"", "", "/"},
	} {
		r := httptest.NewRequest("POST", "/language", nil)
		if c.referer != "" {
			r.Header.Set("Referer", c.referer)
		}
		if got := backTo(r, c.next); got != c.want {
			t.Errorf("backTo(%q, referer %q) = %q, want %q", c.next, c.referer, got, c.want)
		}
	}
}

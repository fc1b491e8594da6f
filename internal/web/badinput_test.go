package web

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// counts is how many rows of each kind the store holds.
type counts struct{ tenants, users, tokens, audit int }

func (f *isoFixture) counts() counts {
	return counts{len(f.allTenants()), len(f.allUsers()), len(f.allTokens()), len(f.allAudit())}
}

// rootToken makes an unrestricted provider-admin API token.
func (f *isoFixture) rootToken() *isoPrincipal {
	f.t.Helper()
	tok, secret, err := f.svc.CreateToken(f.ctx, f.sys, access.TokenInput{Name: "root token", Role: tansa.RoleProviderAdmin})
	if err != nil {
		f.t.Fatal(err)
	}
	return &isoPrincipal{name: "root", bearer: secret, p: access.Principal{Kind: "token", ID: tok.ID, Role: tok.Role}}
}

func apiErrorOf(t *testing.T, res isoResponse) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal([]byte(res.body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d: body %.300q is not the error shape {\"error\":{\"code\",\"message\"}}", res.status, res.body)
	}
	return e
}

// TestBadInput sends malformed, oversized and unauthorised requests to the
// API: each gets a precise 4xx in the error shape whose message says what is
// wrong, and nothing is written.
func TestBadInput(t *testing.T) {
	f := newIsoFixture(t, access.Options{})
	root := f.rootToken()
	ps := f.principals(f.A)
	aAdmin, aPAdmin := ps[0], ps[7]
	if aAdmin.p.Role != tansa.RoleTenantAdmin || aAdmin.bearer == "" {
		t.Fatalf("principal 0 is %s, want the tenant-admin token", aAdmin.name)
	}
	if aPAdmin.p.Role != tansa.RoleProviderAdmin || len(aPAdmin.p.Tenants) != 1 || aPAdmin.bearer == "" {
		t.Fatalf("principal 7 is %s, want the restricted provider-admin token", aPAdmin.name)
	}
	revoked := f.rootToken()
	if _, err := f.svc.RevokeToken(f.ctx, f.sys, revoked.p.ID); err != nil {
		t.Fatal(err)
	}
	anon := &isoPrincipal{name: "anonymous"}
	bogus := &isoPrincipal{name: "bogus", bearer: "tansa_not-a-real-token-at-all"}
	huge := `{"name":"` + strings.Repeat("a", maxBody+10) + `"}`
	bUser, bToken := f.B.Spare.ID, f.B.SpareToken.ID

	cases := []struct {
		name                string
		who                 *isoPrincipal
		method, path, body  string
		contentType         string
		wantStatus          int
		wantCode            string
		wantMessageContains string
	}{
		{"malformed JSON", root, "POST", "/api/v1/tenants", `{"name": "x",}`, "", 400, "invalid", "malformed JSON at byte"},
		{"truncated JSON", root, "POST", "/api/v1/tenants", `{"name": "x"`, "", 400, "invalid", "ends too early"},
		{"not JSON at all", root, "POST", "/api/v1/tenants", `name=x`, "", 400, "invalid", "malformed JSON"},
		{"empty body", root, "POST", "/api/v1/tenants", ``, "application/json", 400, "invalid", "empty"},
		{"an array, not an object", root, "POST", "/api/v1/tenants", `[{"name":"x"}]`, "", 400, "invalid", "must be"},
		{"trailing data", root, "POST", "/api/v1/tenants", `{"name":"x"} {"name":"y"}`, "", 400, "invalid", "after the JSON object"},
		{"unknown field", root, "POST", "/api/v1/tenants", `{"name":"x","colour":"red"}`, "", 400, "invalid", `"colour"`},
		{"wrong type", root, "POST", "/api/v1/tenants", `{"name":5}`, "", 400, "invalid", "field name must be string"},
		{"wrong nested type", root, "POST", "/api/v1/tenants", `{"name":"x","contacts":[{"name":1}]}`, "", 400, "invalid", "contacts.name"},
		{"missing required field", root, "POST", "/api/v1/tenants", `{"country":"JP"}`, "", 400, "invalid", "name: required"},
		{"bad value", root, "POST", "/api/v1/tenants", `{"name":"x","country":"Japan"}`, "", 400, "invalid", "country"},
		{"bad time zone", root, "POST", "/api/v1/tenants", `{"name":"x","time_zone":"../../etc/passwd"}`, "", 400, "invalid", "time_zone"},
		{"too many contacts", root, "POST", "/api/v1/tenants", `{"name":"x","contacts":[` + strings.TrimSuffix(strings.Repeat(`{"name":"c"},`, 21), ",") + `]}`, "", 400, "invalid", "at most 20"},
		{"oversize body", root, "POST", "/api/v1/tenants", huge, "", 413, "too_large", "larger than"},
		{"oversize PATCH", root, "PATCH", "/api/v1/tenants/" + f.A.Tenant.ID, huge, "", 413, "too_large", "larger than"},
		{"wrong content type", root, "POST", "/api/v1/tenants", `{"name":"x"}`, "text/plain", 400, "invalid", "application/json"},
		{"form content type", root, "POST", "/api/v1/tenants", `name=x`, "application/x-www-form-urlencoded", 400, "invalid", "application/json"},
		{"bad content type syntax", root, "POST", "/api/v1/tenants", `{"name":"x"}`, "application/json; =", 400, "invalid", "content type"},
		{"unknown role", root, "POST", "/api/v1/users", `{"username":"wiz","role":"wizard","password":"` + isoPassword + `"}`, "", 400, "invalid", "role"},
		{"short password", root, "POST", "/api/v1/users", `{"username":"shorty","role":"provider-analyst","password":"short"}`, "", 400, "invalid", "at least 12"},
		{"bad username", root, "POST", "/api/v1/users", `{"username":"Bad Name","role":"provider-analyst","password":"` + isoPassword + `"}`, "", 400, "invalid", "username"},
		{"duplicate username", root, "POST", "/api/v1/users", `{"username":"alpha-viewer","role":"tenant-viewer","tenant_id":"` + f.A.Tenant.ID + `","password":"` + isoPassword + `"}`, "", 409, "conflict", ""},
		{"password through PATCH", root, "PATCH", "/api/v1/users/" + f.A.Spare.ID, `{"password":"` + isoPassword + `"}`, "", 400, "invalid", "reset-password"},
		{"negative token lifetime", root, "POST", "/api/v1/tokens", `{"name":"t","role":"ingest","tenant_id":"` + f.A.Tenant.ID + `","expires_in":"-1h"}`, "", 400, "invalid", "expires_in"},
		{"ingest token without tenant", root, "POST", "/api/v1/tokens", `{"name":"t","role":"ingest"}`, "", 400, "invalid", "tenant_id"},
		{"token in a tenant that does not exist", root, "POST", "/api/v1/tokens", `{"name":"t","role":"ingest","tenant_id":"nope"}`, "", 400, "invalid", "does not exist"},
		{"limit not a number", root, "GET", "/api/v1/users?limit=ten", "", "", 400, "invalid", "limit"},
		{"limit too large", root, "GET", "/api/v1/users?limit=501", "", "", 400, "invalid", "limit"},
		{"negative offset", root, "GET", "/api/v1/tokens?offset=-1", "", "", 400, "invalid", "offset"},
		{"bad audit time", root, "GET", "/api/v1/audit?since=yesterday", "", "", 400, "invalid", "RFC 3339"},
		{"no such API route", root, "GET", "/api/v1/nothing-here", "", "", 404, "not_found", "no such"},
		{"method the route does not take", root, "PUT", "/api/v1/tenants", `{"name":"x"}`, "", 405, "method_not_allowed", "use GET, HEAD or POST"},
		{"no such tenant", root, "GET", "/api/v1/tenants/nope", "", "", 404, "not_found", "not found"},
		{"missing auth", anon, "GET", "/api/v1/tenants", "", "", 401, "unauthorized", "Bearer"},
		{"missing auth on a write", anon, "POST", "/api/v1/tenants", `{"name":"x"}`, "", 401, "unauthorized", ""},
		{"unknown token", bogus, "GET", "/api/v1/me", "", "", 401, "unauthorized", "invalid, revoked or expired"},
		{"revoked token", revoked, "GET", "/api/v1/me", "", "", 401, "unauthorized", "invalid, revoked or expired"},
		{"revoked token writing", revoked, "POST", "/api/v1/tenants", `{"name":"x"}`, "", 401, "unauthorized", ""},
		{"role without the permission", aAdmin, "POST", "/api/v1/tenants", `{"name":"x"}`, "", 403, "forbidden", "tenant.write"},
		{"cross-tenant user", aAdmin, "PATCH", "/api/v1/users/" + bUser, `{"name":"x"}`, "", 404, "not_found", "not found"},
		{"cross-tenant reset", aAdmin, "POST", "/api/v1/users/" + bUser + "/password", `{}`, "", 404, "not_found", "not found"},
		{"cross-tenant revoke", aAdmin, "DELETE", "/api/v1/tokens/" + bToken, "", "", 404, "not_found", "not found"},
		{"cross-tenant user creation", aAdmin, "POST", "/api/v1/users", `{"username":"sneaky","role":"tenant-admin","tenant_id":"` + f.B.Tenant.ID + `","password":"` + isoPassword + `"}`, "", 400, "invalid", "tenant_id"},
		{"cross-tenant move", aAdmin, "PATCH", "/api/v1/users/" + f.A.Spare.ID, `{"tenant_id":"` + f.B.Tenant.ID + `"}`, "", 400, "invalid", "tenant_id"},
		{"restricted admin granting every tenant", aPAdmin, "POST", "/api/v1/users", `{"username":"wide","role":"provider-admin","password":"` + isoPassword + `"}`, "", 403, "forbidden", "only some tenants"},
		{"restricted admin granting every tenant by token", aPAdmin, "POST", "/api/v1/tokens", `{"name":"wide","role":"provider-analyst"}`, "", 403, "forbidden", "only some tenants"},
		{"restricted admin granting tenant B", aPAdmin, "POST", "/api/v1/tokens", `{"name":"b","role":"provider-analyst","tenants":["` + f.B.Tenant.ID + `"]}`, "", 400, "invalid", "does not exist"},
		{"restricted admin widening a user", aPAdmin, "PATCH", "/api/v1/users/" + f.A.Spare.ID, `{"role":"provider-admin","tenant_id":""}`, "", 403, "forbidden", "only some tenants"},
		{"granting a provider role", aAdmin, "POST", "/api/v1/tokens", `{"name":"t","role":"provider-admin"}`, "", 403, "forbidden", "provider-admin"},
		{"intel: unknown import format", aAdmin, "POST", "/api/v1/intel/import?format=yaml", "45.77.1.1\n", "text/plain", 400, "invalid", "unknown import format"},
		{"intel: empty import", aAdmin, "POST", "/api/v1/intel/import", "", "text/plain", 400, "invalid", "empty input"},
		{"intel: binary import", aAdmin, "POST", "/api/v1/intel/import", "\x00\x01\x02", "application/octet-stream", 400, "invalid", "binary input"},
		{"intel: truncated STIX bundle", aAdmin, "POST", "/api/v1/intel/import?format=stix", `{"type":"bundle","objects":[`, "", 400, "invalid", "at byte"},
		{"intel: JSON that is no feed", aAdmin, "POST", "/api/v1/intel/import", `{"hello":"world"}`, "", 400, "invalid", "neither a STIX bundle nor a MISP document"},
		{"intel: import by a viewer", ps[2], "POST", "/api/v1/intel/import", "45.77.1.1\n", "text/plain", 403, "forbidden", "intel.write"},
		{"intel: global import by a restricted provider admin", aPAdmin, "POST", "/api/v1/intel/import", "45.77.1.1\n", "text/plain", 403, "forbidden", "global intelligence"},
		{"intel: import into tenant B", aAdmin, "POST", "/api/v1/intel/import?tenant=" + f.B.Tenant.ID, "45.77.1.1\n", "text/plain", 404, "not_found", "not found"},
		{"intel: unknown indicator type", aAdmin, "GET", "/api/v1/intel/indicators?type=blob", "", "", 400, "invalid", "unknown indicator type"},
		{"intel: no such indicator", aAdmin, "GET", "/api/v1/intel/indicators/nope", "", "", 404, "not_found", "not found"},
		{"intel: unknown EDL kind", aAdmin, "GET", "/api/v1/intel/feeds/edl/hash", "", "", 400, "invalid", "ip, domain or url"},
		{"intel: feed of tenant B", aAdmin, "GET", "/api/v1/intel/feeds/rpz?tenant=" + f.B.Tenant.ID, "", "", 404, "not_found", "not found"},
		{"intel: feed for an ingest token", ps[4], "GET", "/api/v1/intel/feeds/edl/ip", "", "", 403, "forbidden", "intel.read"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			before := f.counts()
			res := f.do(tc.who, tc.method, tc.path, tc.body, tc.contentType)
			if res.status != tc.wantStatus {
				t.Errorf("%s %s: status %d, want %d; body %.300s", tc.method, tc.path, res.status, tc.wantStatus, res.body)
			}
			e := apiErrorOf(t, res)
			if e.Error.Code != tc.wantCode {
				t.Errorf("code %q, want %q (message %q)", e.Error.Code, tc.wantCode, e.Error.Message)
			}
			if !strings.Contains(e.Error.Message, tc.wantMessageContains) {
				t.Errorf("message %q does not say %q", e.Error.Message, tc.wantMessageContains)
			}
			if ct := res.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if res.status == http.StatusUnauthorized && res.header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
			if after := f.counts(); after != before {
				t.Errorf("rows changed by a refused request: before %+v, after %+v", before, after)
			}
		})
	}
	f.t = t

	// The same body with a charset parameter is accepted: the check is on
	// the media type, not the header's spelling.
	res := f.do(root, "POST", "/api/v1/tenants", `{"name":"Charset Corp"}`, "application/json; charset=utf-8")
	if res.status != http.StatusCreated {
		t.Errorf("application/json; charset=utf-8: status %d, want 201; body %.300s", res.status, res.body)
	}
}

// fakeClock is a settable clock for the access service.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestExpiredSession(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	f := newIsoFixture(t, access.Options{Now: clock.Now, SessionIdle: 30 * time.Minute, SessionAbsolute: 12 * time.Hour})
	p := &isoPrincipal{name: "viewer", cookie: f.loginCookie(f.A.Viewer.Username)}

	if res := f.do(p, "GET", "/api/v1/me", "", ""); res.status != http.StatusOK {
		t.Fatalf("fresh session: status %d, want 200", res.status)
	}
	clock.Advance(29 * time.Minute)
	if res := f.do(p, "GET", "/api/v1/me", "", ""); res.status != http.StatusOK {
		t.Fatalf("session idle 29 minutes of 30: status %d, want 200", res.status)
	}
	clock.Advance(31 * time.Minute)
	res := f.do(p, "GET", "/api/v1/me", "", "")
	if res.status != http.StatusUnauthorized {
		t.Fatalf("session idle 31 minutes: status %d, want 401; body %s", res.status, res.body)
	}
	if e := apiErrorOf(t, res); !strings.Contains(e.Error.Message, "session has ended") {
		t.Errorf("message %q, want it to say the session has ended", e.Error.Message)
	}
	// A page sends the browser to log in and back.
	res = f.do(p, "GET", "/?x=1", "", "")
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login?next=%2F%3Fx%3D1" {
		t.Errorf("page with an ended session: %d to %q, want 303 to /login?next=%%2F%%3Fx%%3D1", res.status, res.header.Get("Location"))
	}

	// Activity keeps a session alive, but not past its absolute lifetime.
	p.cookie = f.loginCookie(f.A.Viewer.Username)
	for i := 1; i <= 28; i++ { // 11 h 40 min of a request every 25 minutes
		clock.Advance(25 * time.Minute)
		if res := f.do(p, "GET", "/api/v1/me", "", ""); res.status != http.StatusOK {
			t.Fatalf("active session after %d minutes: status %d, want 200", 25*i, res.status)
		}
	}
	clock.Advance(25 * time.Minute) // idle 25 minutes, but 12 h 5 min since login
	if res := f.do(p, "GET", "/api/v1/me", "", ""); res.status != http.StatusUnauthorized {
		t.Errorf("session older than its absolute lifetime: status %d, want 401", res.status)
	}
}

func loginForm(username, password string) string {
	return isoForm("username", username, "password", password)
}

// TestLockout checks that five failed logins in a row lock the account,
// that a locked account refuses even the right password with 429, that every
// attempt is audited, and that the lock ends after its time.
func TestLockout(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	f := newIsoFixture(t, access.Options{Now: clock.Now, MaxFailures: 5, Lockout: 15 * time.Minute})
	user := f.A.Login.Username
	actions := func() []string {
		var as []string
		for _, e := range f.allAudit() {
			if e.ObjectID == f.A.Login.ID && strings.HasPrefix(e.Action, "login.") {
				as = append(as, e.Action)
			}
		}
		return as
	}
	base := len(actions())
	for i := 1; i <= 5; i++ {
		res := f.do(nil, "POST", "/login", loginForm(user, "wrong-password-1"), "")
		if res.status != http.StatusUnauthorized {
			t.Fatalf("failed login %d: status %d, want 401", i, res.status)
		}
		if res.header.Get("Set-Cookie") != "" && strings.Contains(res.header.Get("Set-Cookie"), sessionCookie+"=") {
			t.Fatalf("failed login %d set a session cookie", i)
		}
	}
	res := f.do(nil, "POST", "/login", loginForm(user, isoPassword), "")
	if res.status != http.StatusTooManyRequests {
		t.Fatalf("right password on a locked account: status %d, want 429", res.status)
	}
	if strings.Contains(res.header.Get("Set-Cookie"), sessionCookie+"=") {
		t.Fatalf("a locked account got a session cookie")
	}
	if !strings.Contains(res.body, "locked") && !strings.Contains(res.body, "too many") && !strings.Contains(res.body, "Too many") {
		t.Errorf("lock-out page does not say why: %.500s", res.body)
	}
	got := actions()[:len(actions())-base]
	want := []string{"login.locked", "login.lockout", "login.fail", "login.fail", "login.fail", "login.fail"} // newest first
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("audit of the attempts (newest first) = %v, want %v", got, want)
	}

	clock.Advance(16 * time.Minute)
	res = f.do(nil, "POST", "/login", loginForm(user, isoPassword), "")
	if res.status != http.StatusSeeOther || !strings.Contains(res.header.Get("Set-Cookie"), sessionCookie+"=") {
		t.Errorf("after the lock-out: status %d, Set-Cookie %q; want 303 with a session", res.status, res.header.Get("Set-Cookie"))
	}
}

// TestLoginRateLimit checks that one address cannot try passwords faster
// than the limit, whichever usernames it tries.
func TestLoginRateLimit(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	f := newIsoFixture(t, access.Options{Now: clock.Now, LoginRate: rate.Limit(1.0 / 6), LoginBurst: 3})
	clock.Advance(time.Minute) // the fixture's own logins are forgotten
	for i := range 3 {
		if res := f.do(nil, "POST", "/login", loginForm("nobody-"+string(rune('a'+i)), "wrong-password-1"), ""); res.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d, want 401", i+1, res.status)
		}
	}
	before := f.counts()
	res := f.do(nil, "POST", "/login", loginForm(f.A.Login.Username, isoPassword), "")
	if res.status != http.StatusTooManyRequests {
		t.Fatalf("attempt 4 within the burst window: status %d, want 429", res.status)
	}
	if after := f.counts(); after.users != before.users || after.tokens != before.tokens {
		t.Errorf("rows changed by a refused login: %+v → %+v", before, after)
	}
	clock.Advance(7 * time.Second)
	if res := f.do(nil, "POST", "/login", loginForm(f.A.Login.Username, isoPassword), ""); res.status != http.StatusSeeOther {
		t.Errorf("after waiting: status %d, want 303", res.status)
	}
}

// TestLoginFormErrors checks the login form's own bad input.
func TestLoginFormErrors(t *testing.T) {
	f := newIsoFixture(t, access.Options{})
	res := f.do(nil, "POST", "/login", strings.Repeat("a", 70<<10), "application/x-www-form-urlencoded")
	if res.status >= 500 || res.status < 400 {
		t.Errorf("oversize login form: status %d, want 4xx", res.status)
	}
	res = f.do(nil, "POST", "/login", "username=%zz", "application/x-www-form-urlencoded")
	if res.status != http.StatusBadRequest {
		t.Errorf("malformed login form: status %d, want 400", res.status)
	}
}

// TestAuditTrail checks that changes and logins are audited with who, from
// where, and the object before and after.
func TestAuditTrail(t *testing.T) {
	f := newIsoFixture(t, access.Options{})
	root := f.rootToken()

	res := f.do(root, "POST", "/api/v1/tenants", `{"name":"Audited Ltd","country":"JP"}`, "")
	if res.status != http.StatusCreated {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	var tn tansa.Tenant
	json.Unmarshal([]byte(res.body), &tn)
	if res := f.do(root, "PATCH", "/api/v1/tenants/"+tn.ID, `{"country":"US"}`, ""); res.status != http.StatusOK {
		t.Fatalf("update tenant: %d %s", res.status, res.body)
	}
	res = f.do(root, "POST", "/api/v1/users", `{"username":"audited-user","role":"tenant-viewer","tenant_id":"`+tn.ID+`","password":"`+isoPassword+`"}`, "")
	if res.status != http.StatusCreated {
		t.Fatalf("create user: %d %s", res.status, res.body)
	}
	var u tansa.User
	json.Unmarshal([]byte(res.body), &u)
	res = f.do(root, "POST", "/api/v1/tokens", `{"name":"audited token","role":"ingest","tenant_id":"`+tn.ID+`"}`, "")
	if res.status != http.StatusCreated {
		t.Fatalf("create token: %d %s", res.status, res.body)
	}
	var tok struct {
		tansa.Token
		Secret string `json:"secret"`
	}
	json.Unmarshal([]byte(res.body), &tok)
	if res := f.do(root, "DELETE", "/api/v1/tokens/"+tok.ID, "", ""); res.status != http.StatusOK {
		t.Fatalf("revoke token: %d %s", res.status, res.body)
	}
	if res := f.do(nil, "POST", "/login", loginForm("audited-user", isoPassword), ""); res.status != http.StatusSeeOther {
		t.Fatalf("login: %d", res.status)
	}
	if res := f.do(nil, "POST", "/login", loginForm("audited-user", "wrong-password-1"), ""); res.status != http.StatusUnauthorized {
		t.Fatalf("failed login: %d", res.status)
	}

	res = f.do(root, "GET", "/api/v1/audit?tenant="+tn.ID+"&limit=100", "", "")
	if res.status != http.StatusOK {
		t.Fatalf("audit: %d %s", res.status, res.body)
	}
	var list struct {
		Items []tansa.AuditEntry `json:"items"`
		Total int                `json:"total"`
	}
	if err := json.Unmarshal([]byte(res.body), &list); err != nil {
		t.Fatal(err)
	}
	find := func(action, objectID string) tansa.AuditEntry {
		t.Helper()
		for _, e := range list.Items {
			if e.Action == action && e.ObjectID == objectID {
				return e
			}
		}
		t.Fatalf("no audit entry %s on %s among %d", action, objectID, len(list.Items))
		return tansa.AuditEntry{}
	}
	field := func(raw json.RawMessage, name string) any {
		var m map[string]any
		if len(raw) == 0 {
			return nil
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("before/after %s: %v", raw, err)
		}
		return m[name]
	}
	const actor, addr = "token:root token", "127.0.0.1"
	checks := []struct {
		e                    tansa.AuditEntry
		actor                string
		beforeKey, beforeVal string
		afterKey, afterVal   string
	}{
		{find("tenant.create", tn.ID), actor, "", "", "name", "Audited Ltd"},
		{find("tenant.update", tn.ID), actor, "country", "JP", "country", "US"},
		{find("user.create", u.ID), actor, "", "", "username", "audited-user"},
		{find("token.create", tok.ID), actor, "", "", "name", "audited token"},
		{find("token.revoke", tok.ID), actor, "name", "audited token", "name", "audited token"},
		{find("login.ok", u.ID), "user:audited-user", "", "", "", ""},
		{find("login.fail", u.ID), "user:audited-user", "", "", "", ""},
	}
	for _, c := range checks {
		if c.e.Actor != c.actor || c.e.Addr != addr || c.e.TenantID != tn.ID || c.e.Time.IsZero() {
			t.Errorf("%s: actor %q addr %q tenant %q time %v; want %q, %q, %q and a time", c.e.Action, c.e.Actor, c.e.Addr, c.e.TenantID, c.e.Time, c.actor, addr, tn.ID)
		}
		if c.beforeKey == "" && len(c.e.Before) != 0 && c.e.Action != "token.revoke" {
			t.Errorf("%s: before = %s, want none", c.e.Action, c.e.Before)
		}
		if c.beforeKey != "" && field(c.e.Before, c.beforeKey) != c.beforeVal {
			t.Errorf("%s: before.%s = %v, want %q", c.e.Action, c.beforeKey, field(c.e.Before, c.beforeKey), c.beforeVal)
		}
		if c.afterKey != "" && field(c.e.After, c.afterKey) != c.afterVal {
			t.Errorf("%s: after.%s = %v, want %q", c.e.Action, c.afterKey, field(c.e.After, c.afterKey), c.afterVal)
		}
	}
	rv := find("token.revoke", tok.ID)
	if field(rv.Before, "revoked") != nil || field(rv.After, "revoked") == nil {
		t.Errorf("token.revoke: before.revoked %v, after.revoked %v; want unset then set", field(rv.Before, "revoked"), field(rv.After, "revoked"))
	}
	for _, e := range list.Items {
		for _, raw := range []json.RawMessage{e.Before, e.After} {
			if s := string(raw); strings.Contains(s, "argon2") || strings.Contains(s, tok.Secret) || strings.Contains(s, "password_hash") {
				t.Errorf("%s: audit entry carries a secret: %s", e.Action, s)
			}
		}
	}
}

// TestExpiredToken checks that a token stops working when it expires.
func TestExpiredToken(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	f := newIsoFixture(t, access.Options{Now: clock.Now})
	tok, secret, err := f.svc.CreateToken(f.ctx, f.sys, access.TokenInput{Name: "short-lived", Role: tansa.RoleTenantViewer, TenantID: f.A.Tenant.ID, ExpiresIn: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	p := &isoPrincipal{name: "short-lived", bearer: secret, p: access.Principal{Kind: "token", ID: tok.ID}}
	if res := f.do(p, "GET", "/api/v1/tenants", "", ""); res.status != http.StatusOK {
		t.Fatalf("token before expiry: status %d, want 200", res.status)
	}
	clock.Advance(61 * time.Minute)
	res := f.do(p, "GET", "/api/v1/tenants", "", "")
	if res.status != http.StatusUnauthorized {
		t.Fatalf("token after expiry: status %d, want 401", res.status)
	}
	if e := apiErrorOf(t, res); e.Error.Code != "unauthorized" {
		t.Errorf("code %q, want unauthorized", e.Error.Code)
	}
}

// TestDisabledUser checks that disabling a user ends its sessions at once
// and refuses its logins.
func TestDisabledUser(t *testing.T) {
	f := newIsoFixture(t, access.Options{})
	root := f.rootToken()
	viewer := &isoPrincipal{name: "viewer", cookie: f.loginCookie(f.A.Viewer.Username)}
	if res := f.do(viewer, "GET", "/api/v1/me", "", ""); res.status != http.StatusOK {
		t.Fatalf("before: status %d", res.status)
	}
	if res := f.do(root, "PATCH", "/api/v1/users/"+f.A.Viewer.ID, `{"disabled":true}`, ""); res.status != http.StatusOK {
		t.Fatalf("disable: status %d %s", res.status, res.body)
	}
	if res := f.do(viewer, "GET", "/api/v1/me", "", ""); res.status != http.StatusUnauthorized {
		t.Errorf("session of a disabled user: status %d, want 401", res.status)
	}
	if res := f.do(nil, "POST", "/login", loginForm(f.A.Viewer.Username, isoPassword), ""); res.status != http.StatusUnauthorized {
		t.Errorf("login of a disabled user with the right password: status %d, want 401", res.status)
	}
}

// TestCrossOriginRefused checks that a browser's cross-site request cannot
// use the session cookie to change anything.
func TestCrossOriginRefused(t *testing.T) {
	f := newIsoFixture(t, access.Options{})
	admin := &isoPrincipal{name: "admin", cookie: f.loginCookie(f.Root.Username)}
	for _, h := range []struct{ name, value string }{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		before := f.counts()
		req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/tenants", strings.NewReader(`{"name":"Forged"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(h.name, h.value)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: admin.cookie})
		res, err := isoNoRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b := new(strings.Builder)
		_, _ = io.Copy(b, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %s: status %d, want 403", h.name, h.value, res.StatusCode)
		}
		if e := apiErrorOf(t, isoResponse{status: res.StatusCode, body: b.String()}); !strings.Contains(e.Error.Message, "cross-origin") {
			t.Errorf("%s: message %q, want it to say cross-origin", h.name, e.Error.Message)
		}
		if after := f.counts(); after != before {
			t.Errorf("%s: a refused cross-origin request changed rows: %+v → %+v", h.name, before, after)
		}
	}
}

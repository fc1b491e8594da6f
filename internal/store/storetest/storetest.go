// Package storetest is the behavioural conformance suite for access.Store.
// Every storage backend runs it from its own tests by passing a function that
// opens a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) access.Store { … })
//	}
//
// The suite checks what a caller of the store can observe: values read back
// as they were written, error kinds, scoping, filtering, ordering and paging
// of lists, and the audit entry that goes with every change.
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Run runs every conformance test as a subtest of t. open must return a new,
// empty store for each call and arrange its closing with t.Cleanup; it is
// called once per subtest.
func Run(t *testing.T, open func(t *testing.T) access.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s access.Store)
	}{
		{"TenantCreateGet", testTenantCreateGet},
		{"TenantNotFound", testTenantNotFound},
		{"TenantConflict", testTenantConflict},
		{"TenantUpdate", testTenantUpdate},
		{"TenantsScope", testTenantsScope},
		{"TenantsText", testTenantsText},
		{"TenantsPage", testTenantsPage},
		{"UserCreateGet", testUserCreateGet},
		{"UserNotFound", testUserNotFound},
		{"UserConflict", testUserConflict},
		{"UserUpdate", testUserUpdate},
		{"UsersScope", testUsersScope},
		{"UsersTextAndRole", testUsersTextAndRole},
		{"UsersPage", testUsersPage},
		{"RecordLogin", testRecordLogin},
		{"TokenCreateGet", testTokenCreateGet},
		{"TokenNotFound", testTokenNotFound},
		{"TokenConflict", testTokenConflict},
		{"RevokeToken", testRevokeToken},
		{"TouchToken", testTouchToken},
		{"TokensScopeOrderPage", testTokensScopeOrderPage},
		{"Sessions", testSessions},
		{"DeleteSessionsByUser", testDeleteSessionsByUser},
		{"DeleteSessionsExpired", testDeleteSessionsExpired},
		{"AuditAppend", testAuditAppend},
		{"AuditFilters", testAuditFilters},
		{"AuditScopeOrderPage", testAuditScopeOrderPage},
		{"TimeRoundTrip", testTimeRoundTrip},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Counts", testCounts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tc.fn(t, s)
		})
	}
}

// at returns the suite's "now" plus d. "Now" is a fixed instant so that
// results do not depend on the wall clock.
func at(d time.Duration) time.Time { return time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).Add(d) }

func entry(action, objType, objID, tenantID string) tansa.AuditEntry {
	return tansa.AuditEntry{
		Time:       at(0),
		TenantID:   tenantID,
		Actor:      "user:alice",
		Addr:       "192.0.2.7",
		Action:     action,
		ObjectType: objType,
		ObjectID:   objID,
		Before:     nil,
		After:      []byte(`{"id":"` + objID + `"}`),
	}
}

func newTenant(id, name string) tansa.Tenant {
	return tansa.Tenant{
		ID:       id,
		Name:     name,
		Country:  "JP",
		Language: "ja",
		TimeZone: "Asia/Tokyo",
		Contacts: []tansa.Contact{{Name: "Sato Hanako", Email: "sato@" + id + ".example", Phone: "+81-3-0000-0000", Role: "security"}},
		Created:  at(0),
		Updated:  at(0),
	}
}

func newUser(id, username string, role tansa.Role, tenantID string) tansa.User {
	return tansa.User{
		ID:           id,
		Username:     username,
		Name:         "Name of " + username,
		Email:        username + "@example.com",
		Role:         role,
		TenantID:     tenantID,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA",
		Created:      at(0),
		Updated:      at(0),
	}
}

func newToken(id string, tenantID string, created time.Time) tansa.Token {
	role := tansa.RoleIngest
	if tenantID == "" {
		role = tansa.RoleProviderAdmin
	}
	return tansa.Token{
		ID:       id,
		Name:     "token " + id,
		Role:     role,
		TenantID: tenantID,
		Hash:     "hash-" + id,
		Prefix:   "tsk_" + id,
		Created:  created,
		Creator:  "user:alice",
	}
}

func mustCreateTenant(t *testing.T, s access.Store, tn tansa.Tenant) {
	t.Helper()
	if err := s.CreateTenant(t.Context(), tn, entry("tenant.create", "tenant", tn.ID, tn.ID)); err != nil {
		t.Fatalf("CreateTenant(%q): %v", tn.ID, err)
	}
}

func mustCreateUser(t *testing.T, s access.Store, u tansa.User) {
	t.Helper()
	if err := s.CreateUser(t.Context(), u, entry("user.create", "user", u.ID, u.TenantID)); err != nil {
		t.Fatalf("CreateUser(%q): %v", u.ID, err)
	}
}

func mustCreateToken(t *testing.T, s access.Store, tk tansa.Token) {
	t.Helper()
	if err := s.CreateToken(t.Context(), tk, entry("token.create", "token", tk.ID, tk.TenantID)); err != nil {
		t.Fatalf("CreateToken(%q): %v", tk.ID, err)
	}
}

func mustCreateSession(t *testing.T, s access.Store, ss tansa.Session) {
	t.Helper()
	if err := s.CreateSession(t.Context(), ss); err != nil {
		t.Fatalf("CreateSession(%q): %v", ss.Hash, err)
	}
}

// wantKind fails t unless err is of kind k.
func wantKind(t *testing.T, what string, err error, k tansa.Kind) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want kind %v", what, k)
		return
	}
	if got := tansa.KindOf(err); got != k {
		t.Errorf("%s: got error kind %v (%v), want %v", what, got, err, k)
	}
}

// auditTotal returns the number of audit entries in the store.
func auditTotal(t *testing.T, s access.Store) int {
	t.Helper()
	_, n, err := s.Audit(t.Context(), access.AuditQuery{Scope: access.Scope{All: true}})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	return n
}

// wantAppended fails t unless exactly one audit entry was appended since the
// log held prev entries, and that entry carries want's fields.
func wantAppended(t *testing.T, s access.Store, what string, prev int, want tansa.AuditEntry) {
	t.Helper()
	got, n, err := s.Audit(t.Context(), access.AuditQuery{Scope: access.Scope{All: true}, Page: access.Page{Limit: 1}})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if n != prev+1 {
		t.Errorf("%s: audit log has %d entries, want %d (exactly one appended)", what, n, prev+1)
		return
	}
	if len(got) != 1 {
		t.Fatalf("%s: Audit with Limit 1 returned %d entries, want 1", what, len(got))
	}
	if got[0].ID <= 0 {
		t.Errorf("%s: audit entry ID = %d, want > 0", what, got[0].ID)
	}
	want.ID = got[0].ID
	want.Time = want.Time.Truncate(time.Microsecond).UTC()
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("%s: appended audit entry\n got %+v\nwant %+v", what, got[0], want)
	}
}

// wantUnchangedAudit fails t unless the audit log still holds prev entries.
func wantUnchangedAudit(t *testing.T, s access.Store, what string, prev int) {
	t.Helper()
	if n := auditTotal(t, s); n != prev {
		t.Errorf("%s: audit log has %d entries after the failed call, want %d (nothing appended)", what, n, prev)
	}
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, v := range items {
		out[i] = id(v)
	}
	return out
}

func tenantID(t tansa.Tenant) string { return t.ID }
func userID(u tansa.User) string     { return u.ID }
func tokenID(t tansa.Token) string   { return t.ID }
func auditObj(a tansa.AuditEntry) string {
	return a.ObjectID
}

// wantIDs fails t unless got lists exactly want, in order, with total n.
func wantIDs(t *testing.T, what string, got []string, total int, want []string, wantTotal int) {
	t.Helper()
	if len(want) == 0 {
		want = []string{}
	}
	if !reflect.DeepEqual(got, want) || total != wantTotal {
		t.Errorf("%s:\n got %q (total %d)\nwant %q (total %d)", what, got, total, want, wantTotal)
	}
}

// ---- tenants

func testTenantCreateGet(t *testing.T, s access.Store) {
	ctx := t.Context()
	tn := newTenant("t-acme", "Acme Japan")
	tn.Contacts = append(tn.Contacts, tansa.Contact{Name: "山田 太郎", Email: "yamada@acme.example", Role: "IT"})
	a := entry("tenant.create", "tenant", tn.ID, tn.ID)
	a.Before = nil
	a.After = []byte(`{"name":"Acme Japan","contacts":2}`)
	if err := s.CreateTenant(ctx, tn, a); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	got, err := s.Tenant(ctx, tn.ID)
	if err != nil {
		t.Fatalf("Tenant(%q): %v", tn.ID, err)
	}
	if !reflect.DeepEqual(got, tn) {
		t.Errorf("Tenant(%q)\n got %+v\nwant %+v", tn.ID, got, tn)
	}
	wantAppended(t, s, "CreateTenant", 0, a)
}

func testTenantNotFound(t *testing.T, s access.Store) {
	mustCreateTenant(t, s, newTenant("t-1", "One"))
	_, err := s.Tenant(t.Context(), "t-missing")
	wantKind(t, `Tenant("t-missing")`, err, tansa.NotFound)
}

func testTenantConflict(t *testing.T, s access.Store) {
	ctx := t.Context()
	first := newTenant("t-1", "Acme")
	mustCreateTenant(t, s, first)
	prev := auditTotal(t, s)

	err := s.CreateTenant(ctx, newTenant("t-2", "Acme"), entry("tenant.create", "tenant", "t-2", "t-2"))
	wantKind(t, "CreateTenant with a duplicate name", err, tansa.Conflict)
	wantUnchangedAudit(t, s, "CreateTenant with a duplicate name", prev)
	_, err = s.Tenant(ctx, "t-2")
	wantKind(t, "Tenant of the refused duplicate", err, tansa.NotFound)

	err = s.CreateTenant(ctx, newTenant("t-1", "Other name"), entry("tenant.create", "tenant", "t-1", "t-1"))
	wantKind(t, "CreateTenant with a duplicate ID", err, tansa.Conflict)
	wantUnchangedAudit(t, s, "CreateTenant with a duplicate ID", prev)

	got, err := s.Tenant(ctx, "t-1")
	if err != nil {
		t.Fatalf("Tenant: %v", err)
	}
	if !reflect.DeepEqual(got, first) {
		t.Errorf("first tenant after refused duplicates\n got %+v\nwant %+v", got, first)
	}
}

func testTenantUpdate(t *testing.T, s access.Store) {
	ctx := t.Context()
	mustCreateTenant(t, s, newTenant("t-1", "Acme"))
	mustCreateTenant(t, s, newTenant("t-2", "Beta"))
	prev := auditTotal(t, s)

	up := newTenant("t-1", "Acme Holdings")
	up.Country, up.Language, up.TimeZone = "SG", "en", "Asia/Singapore"
	up.Contacts = []tansa.Contact{{Name: "Lee", Email: "lee@acme.example"}}
	up.Updated = at(time.Hour)
	a := entry("tenant.update", "tenant", "t-1", "t-1")
	a.Before, a.After = []byte(`{"name":"Acme"}`), []byte(`{"name":"Acme Holdings"}`)
	if err := s.UpdateTenant(ctx, up, a); err != nil {
		t.Fatalf("UpdateTenant: %v", err)
	}
	got, err := s.Tenant(ctx, "t-1")
	if err != nil {
		t.Fatalf("Tenant: %v", err)
	}
	if !reflect.DeepEqual(got, up) {
		t.Errorf("Tenant after UpdateTenant\n got %+v\nwant %+v", got, up)
	}
	wantAppended(t, s, "UpdateTenant", prev, a)
	prev++

	err = s.UpdateTenant(ctx, newTenant("t-missing", "Gamma"), entry("tenant.update", "tenant", "t-missing", "t-missing"))
	wantKind(t, "UpdateTenant of a missing tenant", err, tansa.NotFound)
	wantUnchangedAudit(t, s, "UpdateTenant of a missing tenant", prev)

	clash := newTenant("t-2", "Acme Holdings")
	err = s.UpdateTenant(ctx, clash, entry("tenant.update", "tenant", "t-2", "t-2"))
	wantKind(t, "UpdateTenant to another tenant's name", err, tansa.Conflict)
	wantUnchangedAudit(t, s, "UpdateTenant to another tenant's name", prev)
	if got, _ := s.Tenant(ctx, "t-2"); got.Name != "Beta" {
		t.Errorf("tenant t-2 name after refused rename = %q, want %q", got.Name, "Beta")
	}
}

func listTenants(t *testing.T, s access.Store, q access.TenantQuery) ([]string, int) {
	t.Helper()
	got, n, err := s.Tenants(t.Context(), q)
	if err != nil {
		t.Fatalf("Tenants(%+v): %v", q, err)
	}
	return ids(got, tenantID), n
}

func testTenantsScope(t *testing.T, s access.Store) {
	for _, tn := range []tansa.Tenant{newTenant("t-c", "Charlie"), newTenant("t-a", "alpha"), newTenant("t-b", "Bravo")} {
		mustCreateTenant(t, s, tn)
	}
	all := access.Page{Limit: 100}
	for _, tc := range []struct {
		name  string
		scope access.Scope
		want  []string
	}{
		{"All, ordered by name ignoring case", access.Scope{All: true}, []string{"t-a", "t-b", "t-c"}},
		{"Tenants", access.Scope{Tenants: []string{"t-c", "t-a"}}, []string{"t-a", "t-c"}},
		{"Tenants with Provider", access.Scope{Tenants: []string{"t-b"}, Provider: true}, []string{"t-b"}},
		{"Tenants naming an unknown tenant", access.Scope{Tenants: []string{"t-x"}}, nil},
		{"zero Scope", access.Scope{}, nil},
		{"Provider alone", access.Scope{Provider: true}, nil},
	} {
		got, n := listTenants(t, s, access.TenantQuery{Scope: tc.scope, Page: all})
		wantIDs(t, "Tenants "+tc.name, got, n, tc.want, len(tc.want))
	}
}

func testTenantsText(t *testing.T, s access.Store) {
	for _, tn := range []tansa.Tenant{
		newTenant("t-1", "Acme Japan"),
		newTenant("t-2", "ACME Singapore"),
		newTenant("t-3", "Beta 100% Owned"),
		newTenant("t-4", "Beta 1000 Owned"),
		newTenant("t-5", "snake_case Ltd"),
		newTenant("t-6", "snakeXcase Ltd"),
		newTenant("t-7", `Back\slash`),
		newTenant("t-8", "ＡＣＭＥ株式会社"),
		newTenant("t-9", "Ärzte Österreich"),
	} {
		mustCreateTenant(t, s, tn)
	}
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"acme", []string{"t-1", "t-2"}},
		{"ACME", []string{"t-1", "t-2"}},
		{"japan", []string{"t-1"}},
		{"100%", []string{"t-3"}},
		{"%", []string{"t-3"}},
		{"_", []string{"t-5"}},
		{"e_c", []string{"t-5"}},
		{`\`, []string{"t-7"}},
		{`k\s`, []string{"t-7"}},
		{"株式会社", []string{"t-8"}},
		{"ＡＣＭＥ", []string{"t-8"}},
		{"Österreich", []string{"t-9"}},
		{"ÄRZTE", []string{"t-9"}},
		{"nothing like it", nil},
	} {
		got, n := listTenants(t, s, access.TenantQuery{Scope: access.Scope{All: true}, Text: tc.text, Page: access.Page{Limit: 100}})
		wantIDs(t, fmt.Sprintf("Tenants Text %q", tc.text), got, n, tc.want, len(tc.want))
	}
	got, n := listTenants(t, s, access.TenantQuery{Scope: access.Scope{Tenants: []string{"t-2", "t-3"}}, Text: "acme", Page: access.Page{Limit: 100}})
	wantIDs(t, `Tenants Text "acme" within Tenants [t-2 t-3]`, got, n, []string{"t-2"}, 1)
}

func testTenantsPage(t *testing.T, s access.Store) {
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		mustCreateTenant(t, s, newTenant(fmt.Sprintf("t-%d", i), name))
	}
	sc := access.Scope{All: true}
	for _, tc := range []struct {
		page access.Page
		want []string
	}{
		{access.Page{Limit: 2}, []string{"t-0", "t-1"}},
		{access.Page{Limit: 2, Offset: 2}, []string{"t-2", "t-3"}},
		{access.Page{Limit: 2, Offset: 4}, []string{"t-4"}},
		{access.Page{Limit: 2, Offset: 5}, nil},
		{access.Page{Limit: 2, Offset: 50}, nil},
		{access.Page{Limit: 0}, nil},
		{access.Page{Limit: 0, Offset: 3}, nil},
	} {
		got, n := listTenants(t, s, access.TenantQuery{Scope: sc, Page: tc.page})
		wantIDs(t, fmt.Sprintf("Tenants %+v", tc.page), got, n, tc.want, 5)
	}
}

// ---- users

func testUserCreateGet(t *testing.T, s access.Store) {
	ctx := t.Context()
	u := newUser("u-1", "alice", tansa.RoleProviderAnalyst, "")
	u.Tenants = []string{"t-1", "t-2"}
	u.Language, u.TimeZone = "ja", "Asia/Tokyo"
	u.Disabled = true
	u.FailedLogins = 3
	u.LockedUntil = at(15 * time.Minute)
	u.LastLogin = at(-24 * time.Hour)
	u.Updated = at(time.Minute)
	a := entry("user.create", "user", u.ID, "")
	if err := s.CreateUser(ctx, u, a); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	if !reflect.DeepEqual(got, u) {
		t.Errorf("User(%q)\n got %+v\nwant %+v", u.ID, got, u)
	}
	got, err = s.UserByName(ctx, "alice")
	if err != nil {
		t.Fatalf("UserByName: %v", err)
	}
	if !reflect.DeepEqual(got, u) {
		t.Errorf("UserByName(%q)\n got %+v\nwant %+v", "alice", got, u)
	}
	wantAppended(t, s, "CreateUser", 0, a)

	v := newUser("u-2", "bob", tansa.RoleTenantViewer, "t-1")
	mustCreateUser(t, s, v)
	got, err = s.User(ctx, v.ID)
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	if len(got.Tenants) != 0 || got.Disabled || !got.LockedUntil.IsZero() || !got.LastLogin.IsZero() || got.FailedLogins != 0 {
		t.Errorf("User(%q) with empty optional fields: got Tenants %q, Disabled %v, LockedUntil %v, LastLogin %v, FailedLogins %d; want all empty",
			v.ID, got.Tenants, got.Disabled, got.LockedUntil, got.LastLogin, got.FailedLogins)
	}
}

func testUserNotFound(t *testing.T, s access.Store) {
	mustCreateUser(t, s, newUser("u-1", "alice", tansa.RoleProviderAdmin, ""))
	_, err := s.User(t.Context(), "u-missing")
	wantKind(t, `User("u-missing")`, err, tansa.NotFound)
	_, err = s.UserByName(t.Context(), "mallory")
	wantKind(t, `UserByName("mallory")`, err, tansa.NotFound)
	_, err = s.UserByName(t.Context(), "u-1")
	wantKind(t, `UserByName of a user ID`, err, tansa.NotFound)
}

func testUserConflict(t *testing.T, s access.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, newUser("u-1", "alice", tansa.RoleProviderAdmin, ""))
	prev := auditTotal(t, s)

	err := s.CreateUser(ctx, newUser("u-2", "alice", tansa.RoleTenantAdmin, "t-1"), entry("user.create", "user", "u-2", "t-1"))
	wantKind(t, "CreateUser with a duplicate username", err, tansa.Conflict)
	wantUnchangedAudit(t, s, "CreateUser with a duplicate username", prev)
	_, err = s.User(ctx, "u-2")
	wantKind(t, "User of the refused duplicate", err, tansa.NotFound)

	err = s.CreateUser(ctx, newUser("u-1", "carol", tansa.RoleTenantAdmin, "t-1"), entry("user.create", "user", "u-1", "t-1"))
	wantKind(t, "CreateUser with a duplicate ID", err, tansa.Conflict)
	wantUnchangedAudit(t, s, "CreateUser with a duplicate ID", prev)
}

func testUserUpdate(t *testing.T, s access.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, newUser("u-1", "alice", tansa.RoleTenantViewer, "t-1"))
	mustCreateUser(t, s, newUser("u-2", "bob", tansa.RoleTenantViewer, "t-1"))
	prev := auditTotal(t, s)

	up := newUser("u-1", "alice2", tansa.RoleProviderAdmin, "")
	up.Name, up.Email = "Alice Liddell", "alice@wonder.example"
	up.Tenants = []string{"t-9"}
	up.Language, up.TimeZone = "en", "Europe/London"
	up.Disabled = true
	up.PasswordHash = "$argon2id$new"
	up.FailedLogins = 2
	up.LockedUntil = at(time.Hour)
	up.LastLogin = at(-time.Hour)
	up.Updated = at(2 * time.Hour)
	a := entry("user.update", "user", "u-1", "")
	a.Before, a.After = []byte(`{"role":"tenant-viewer"}`), []byte(`{"role":"provider-admin"}`)
	if err := s.UpdateUser(ctx, up, a); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got, err := s.User(ctx, "u-1")
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	if !reflect.DeepEqual(got, up) {
		t.Errorf("User after UpdateUser\n got %+v\nwant %+v", got, up)
	}
	if _, err := s.UserByName(ctx, "alice"); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("UserByName of the old username after a rename: got %v, want kind %v", err, tansa.NotFound)
	}
	wantAppended(t, s, "UpdateUser", prev, a)
	prev++

	err = s.UpdateUser(ctx, newUser("u-missing", "zed", tansa.RoleTenantViewer, "t-1"), entry("user.update", "user", "u-missing", "t-1"))
	wantKind(t, "UpdateUser of a missing user", err, tansa.NotFound)
	wantUnchangedAudit(t, s, "UpdateUser of a missing user", prev)

	err = s.UpdateUser(ctx, newUser("u-2", "alice2", tansa.RoleTenantViewer, "t-1"), entry("user.update", "user", "u-2", "t-1"))
	wantKind(t, "UpdateUser to another user's username", err, tansa.Conflict)
	wantUnchangedAudit(t, s, "UpdateUser to another user's username", prev)
	if got, _ := s.User(ctx, "u-2"); got.Username != "bob" {
		t.Errorf("user u-2 username after refused rename = %q, want %q", got.Username, "bob")
	}
}

func listUsers(t *testing.T, s access.Store, q access.UserQuery) ([]string, int) {
	t.Helper()
	got, n, err := s.Users(t.Context(), q)
	if err != nil {
		t.Fatalf("Users(%+v): %v", q, err)
	}
	return ids(got, userID), n
}

func testUsersScope(t *testing.T, s access.Store) {
	for _, u := range []tansa.User{
		newUser("u-p", "pat", tansa.RoleProviderAdmin, ""),
		newUser("u-a1", "amy", tansa.RoleTenantAdmin, "t-a"),
		newUser("u-a2", "abe", tansa.RoleTenantViewer, "t-a"),
		newUser("u-b1", "ben", tansa.RoleTenantAdmin, "t-b"),
		newUser("u-c1", "cat", tansa.RoleTenantAdmin, "t-c"),
	} {
		mustCreateUser(t, s, u)
	}
	for _, tc := range []struct {
		name  string
		scope access.Scope
		want  []string
	}{
		{"All, ordered by username, provider users included", access.Scope{All: true}, []string{"u-a2", "u-a1", "u-b1", "u-c1", "u-p"}},
		{"Tenants", access.Scope{Tenants: []string{"t-a", "t-c"}}, []string{"u-a2", "u-a1", "u-c1"}},
		{"Tenants with Provider", access.Scope{Tenants: []string{"t-b"}, Provider: true}, []string{"u-b1", "u-p"}},
		{"Provider alone", access.Scope{Provider: true}, []string{"u-p"}},
		{"zero Scope", access.Scope{}, nil},
		{"Tenants naming an unknown tenant", access.Scope{Tenants: []string{"t-x"}}, nil},
	} {
		got, n := listUsers(t, s, access.UserQuery{Scope: tc.scope, Page: access.Page{Limit: 100}})
		wantIDs(t, "Users "+tc.name, got, n, tc.want, len(tc.want))
	}
}

func testUsersTextAndRole(t *testing.T, s access.Store) {
	mk := func(id, username, name, email string, role tansa.Role, tenant string) tansa.User {
		u := newUser(id, username, role, tenant)
		u.Name, u.Email = name, email
		return u
	}
	for _, u := range []tansa.User{
		mk("u-1", "alice", "Alice Smith", "alice@acme.example", tansa.RoleTenantAdmin, "t-a"),
		mk("u-2", "bob", "Bob SMITHERS", "bob@beta.example", tansa.RoleTenantViewer, "t-a"),
		mk("u-3", "carol", "Carol Jones", "carol@ACME.example", tansa.RoleTenantViewer, "t-b"),
		mk("u-4", "dave_ops", "Dave", "dave@gamma.example", tansa.RoleProviderAdmin, ""),
		mk("u-5", "davexops", "Dave X", "dx@gamma.example", tansa.RoleProviderAnalyst, ""),
		mk("u-6", "erin", "Erin 50% Off", "erin@gamma.example", tansa.RoleIngest, "t-b"),
		mk("u-7", "yamada", "ＹＡＭＡＤＡ Ｔａｒｏ 山田", "yamada@delta.example", tansa.RoleTenantAdmin, "t-b"),
	} {
		mustCreateUser(t, s, u)
	}
	all := access.Scope{All: true}
	for _, tc := range []struct {
		name string
		q    access.UserQuery
		want []string
	}{
		{"Text matches username", access.UserQuery{Scope: all, Text: "ALI"}, []string{"u-1"}},
		{"Text matches name, case-insensitive", access.UserQuery{Scope: all, Text: "smith"}, []string{"u-1", "u-2"}},
		{"Text matches e-mail, case-insensitive", access.UserQuery{Scope: all, Text: "acme"}, []string{"u-1", "u-3"}},
		{"Text _ is literal", access.UserQuery{Scope: all, Text: "e_o"}, []string{"u-4"}},
		{"Text % is literal", access.UserQuery{Scope: all, Text: "0%"}, []string{"u-6"}},
		{"Text matches name beyond ASCII, case-insensitive", access.UserQuery{Scope: all, Text: "ｔａｒｏ"}, []string{"u-7"}},
		{"Text matches name in kanji", access.UserQuery{Scope: all, Text: "山田"}, []string{"u-7"}},
		{"Role", access.UserQuery{Scope: all, Role: tansa.RoleTenantViewer}, []string{"u-2", "u-3"}},
		{"Role and Text", access.UserQuery{Scope: all, Role: tansa.RoleTenantViewer, Text: "acme"}, []string{"u-3"}},
		{"Role within Tenants", access.UserQuery{Scope: access.Scope{Tenants: []string{"t-a"}}, Role: tansa.RoleTenantViewer}, []string{"u-2"}},
		{"Role of provider users without Provider", access.UserQuery{Scope: access.Scope{Tenants: []string{"t-a"}}, Role: tansa.RoleProviderAdmin}, nil},
		{"Text within Provider", access.UserQuery{Scope: access.Scope{Provider: true}, Text: "dave"}, []string{"u-4", "u-5"}},
		{"unknown Role", access.UserQuery{Scope: all, Role: "nobody"}, nil},
	} {
		tc.q.Page = access.Page{Limit: 100}
		got, n := listUsers(t, s, tc.q)
		wantIDs(t, "Users "+tc.name, got, n, tc.want, len(tc.want))
	}
}

func testUsersPage(t *testing.T, s access.Store) {
	for _, name := range []string{"e", "d", "c", "b", "a"} {
		mustCreateUser(t, s, newUser("u-"+name, name, tansa.RoleTenantViewer, "t-1"))
	}
	sc := access.Scope{Tenants: []string{"t-1"}}
	for _, tc := range []struct {
		page access.Page
		want []string
	}{
		{access.Page{Limit: 3}, []string{"u-a", "u-b", "u-c"}},
		{access.Page{Limit: 3, Offset: 3}, []string{"u-d", "u-e"}},
		{access.Page{Limit: 3, Offset: 5}, nil},
		{access.Page{Limit: 0}, nil},
	} {
		got, n := listUsers(t, s, access.UserQuery{Scope: sc, Page: tc.page})
		wantIDs(t, fmt.Sprintf("Users %+v", tc.page), got, n, tc.want, 5)
	}
}

func testRecordLogin(t *testing.T, s access.Store) {
	ctx := t.Context()
	u := newUser("u-1", "alice", tansa.RoleTenantAdmin, "t-1")
	mustCreateUser(t, s, u)
	prev := auditTotal(t, s)

	locked := at(10 * time.Minute)
	if err := s.RecordLogin(ctx, "u-1", 5, locked, time.Time{}); err != nil {
		t.Fatalf("RecordLogin (failure): %v", err)
	}
	got, err := s.User(ctx, "u-1")
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	want := u
	want.FailedLogins, want.LockedUntil = 5, locked
	if !reflect.DeepEqual(got, want) {
		t.Errorf("User after a failed login\n got %+v\nwant %+v", got, want)
	}

	last := at(20 * time.Minute)
	if err := s.RecordLogin(ctx, "u-1", 0, time.Time{}, last); err != nil {
		t.Fatalf("RecordLogin (success): %v", err)
	}
	got, err = s.User(ctx, "u-1")
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	want.FailedLogins, want.LockedUntil, want.LastLogin = 0, time.Time{}, last
	if !reflect.DeepEqual(got, want) {
		t.Errorf("User after a successful login\n got %+v\nwant %+v", got, want)
	}
	wantUnchangedAudit(t, s, "RecordLogin", prev)
}

// ---- tokens

func testTokenCreateGet(t *testing.T, s access.Store) {
	ctx := t.Context()
	tk := newToken("k-1", "", at(time.Minute))
	tk.Role = tansa.RoleProviderAnalyst
	tk.Tenants = []string{"t-1", "t-3"}
	tk.Expires = at(90 * 24 * time.Hour)
	a := entry("token.create", "token", tk.ID, "")
	if err := s.CreateToken(ctx, tk, a); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	got, err := s.Token(ctx, tk.ID)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if !reflect.DeepEqual(got, tk) {
		t.Errorf("Token(%q)\n got %+v\nwant %+v", tk.ID, got, tk)
	}
	got, err = s.TokenByHash(ctx, tk.Hash)
	if err != nil {
		t.Fatalf("TokenByHash: %v", err)
	}
	if !reflect.DeepEqual(got, tk) {
		t.Errorf("TokenByHash(%q)\n got %+v\nwant %+v", tk.Hash, got, tk)
	}
	wantAppended(t, s, "CreateToken", 0, a)
}

func testTokenNotFound(t *testing.T, s access.Store) {
	mustCreateToken(t, s, newToken("k-1", "t-1", at(0)))
	_, err := s.Token(t.Context(), "k-missing")
	wantKind(t, `Token("k-missing")`, err, tansa.NotFound)
	_, err = s.TokenByHash(t.Context(), "hash-missing")
	wantKind(t, `TokenByHash("hash-missing")`, err, tansa.NotFound)
}

func testTokenConflict(t *testing.T, s access.Store) {
	ctx := t.Context()
	mustCreateToken(t, s, newToken("k-1", "t-1", at(0)))
	prev := auditTotal(t, s)

	dupID := newToken("k-1", "t-1", at(0))
	dupID.Hash = "hash-other"
	err := s.CreateToken(ctx, dupID, entry("token.create", "token", "k-1", "t-1"))
	wantKind(t, "CreateToken with a duplicate ID", err, tansa.Conflict)
	wantUnchangedAudit(t, s, "CreateToken with a duplicate ID", prev)

	dupHash := newToken("k-2", "t-1", at(0))
	dupHash.Hash = "hash-k-1"
	err = s.CreateToken(ctx, dupHash, entry("token.create", "token", "k-2", "t-1"))
	wantKind(t, "CreateToken with a duplicate hash", err, tansa.Conflict)
	wantUnchangedAudit(t, s, "CreateToken with a duplicate hash", prev)
}

func testRevokeToken(t *testing.T, s access.Store) {
	ctx := t.Context()
	tk := newToken("k-1", "t-1", at(0))
	mustCreateToken(t, s, tk)
	prev := auditTotal(t, s)

	when := at(time.Hour)
	a := entry("token.revoke", "token", "k-1", "t-1")
	if err := s.RevokeToken(ctx, "k-1", when, a); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	got, err := s.Token(ctx, "k-1")
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	want := tk
	want.Revoked = when
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Token after RevokeToken\n got %+v\nwant %+v", got, want)
	}
	wantAppended(t, s, "RevokeToken", prev, a)
	prev++

	err = s.RevokeToken(ctx, "k-missing", when, entry("token.revoke", "token", "k-missing", "t-1"))
	wantKind(t, "RevokeToken of a missing token", err, tansa.NotFound)
	wantUnchangedAudit(t, s, "RevokeToken of a missing token", prev)
}

func testTouchToken(t *testing.T, s access.Store) {
	ctx := t.Context()
	tk := newToken("k-1", "t-1", at(0))
	mustCreateToken(t, s, tk)
	prev := auditTotal(t, s)
	for _, used := range []time.Time{at(time.Minute), at(2 * time.Minute)} {
		if err := s.TouchToken(ctx, "k-1", used); err != nil {
			t.Fatalf("TouchToken: %v", err)
		}
		got, err := s.TokenByHash(ctx, tk.Hash)
		if err != nil {
			t.Fatalf("TokenByHash: %v", err)
		}
		if !got.LastUsed.Equal(used) {
			t.Errorf("LastUsed after TouchToken(%v) = %v, want %v", used, got.LastUsed, used)
		}
	}
	wantUnchangedAudit(t, s, "TouchToken", prev)
}

func testTokensScopeOrderPage(t *testing.T, s access.Store) {
	ctx := t.Context()
	// Created out of order so that the order of the list must come from
	// the creation times, not from the order of insertion.
	for _, tk := range []tansa.Token{
		newToken("k-a2", "t-a", at(2*time.Hour)),
		newToken("k-p", "", at(4*time.Hour)),
		newToken("k-a1", "t-a", at(1*time.Hour)),
		newToken("k-b", "t-b", at(3*time.Hour)),
		newToken("k-a3", "t-a", at(5*time.Hour)),
	} {
		mustCreateToken(t, s, tk)
	}
	if err := s.RevokeToken(ctx, "k-a2", at(6*time.Hour), entry("token.revoke", "token", "k-a2", "t-a")); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	list := func(q access.TokenQuery) ([]string, int) {
		t.Helper()
		got, n, err := s.Tokens(ctx, q)
		if err != nil {
			t.Fatalf("Tokens(%+v): %v", q, err)
		}
		return ids(got, tokenID), n
	}
	for _, tc := range []struct {
		name  string
		scope access.Scope
		want  []string
	}{
		{"All, newest first, revoked included", access.Scope{All: true}, []string{"k-a3", "k-p", "k-b", "k-a2", "k-a1"}},
		{"Tenants", access.Scope{Tenants: []string{"t-a"}}, []string{"k-a3", "k-a2", "k-a1"}},
		{"Tenants with Provider", access.Scope{Tenants: []string{"t-b"}, Provider: true}, []string{"k-p", "k-b"}},
		{"Provider alone", access.Scope{Provider: true}, []string{"k-p"}},
		{"zero Scope", access.Scope{}, nil},
	} {
		got, n := list(access.TokenQuery{Scope: tc.scope, Page: access.Page{Limit: 100}})
		wantIDs(t, "Tokens "+tc.name, got, n, tc.want, len(tc.want))
	}
	for _, tc := range []struct {
		page access.Page
		want []string
	}{
		{access.Page{Limit: 2}, []string{"k-a3", "k-p"}},
		{access.Page{Limit: 2, Offset: 2}, []string{"k-b", "k-a2"}},
		{access.Page{Limit: 2, Offset: 4}, []string{"k-a1"}},
		{access.Page{Limit: 2, Offset: 9}, nil},
		{access.Page{}, nil},
	} {
		got, n := list(access.TokenQuery{Scope: access.Scope{All: true}, Page: tc.page})
		wantIDs(t, fmt.Sprintf("Tokens %+v", tc.page), got, n, tc.want, 5)
	}
}

// ---- sessions

func testSessions(t *testing.T, s access.Store) {
	ctx := t.Context()
	prev := auditTotal(t, s)
	ss := tansa.Session{Hash: "s-1", UserID: "u-1", Created: at(0), LastSeen: at(0), Addr: "198.51.100.4", TenantID: ""}
	mustCreateSession(t, s, ss)
	got, err := s.Session(ctx, "s-1")
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	if !reflect.DeepEqual(got, ss) {
		t.Errorf("Session(%q)\n got %+v\nwant %+v", ss.Hash, got, ss)
	}

	err = s.CreateSession(ctx, tansa.Session{Hash: "s-1", UserID: "u-2", Created: at(0), LastSeen: at(0)})
	wantKind(t, "CreateSession with a duplicate hash", err, tansa.Conflict)

	// UpdateSession stores LastSeen and TenantID only.
	up := ss
	up.LastSeen, up.TenantID = at(time.Minute), "t-1"
	changed := up
	changed.UserID, changed.Created, changed.Addr = "u-other", at(time.Hour), "203.0.113.9"
	if err := s.UpdateSession(ctx, changed); err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	got, err = s.Session(ctx, "s-1")
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	if !reflect.DeepEqual(got, up) {
		t.Errorf("Session after UpdateSession\n got %+v\nwant %+v", got, up)
	}

	mustCreateSession(t, s, tansa.Session{Hash: "s-2", UserID: "u-1", Created: at(0), LastSeen: at(0)})
	if err := s.DeleteSession(ctx, "s-1"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	_, err = s.Session(ctx, "s-1")
	wantKind(t, "Session after DeleteSession", err, tansa.NotFound)
	if _, err := s.Session(ctx, "s-2"); err != nil {
		t.Errorf("Session of another session after DeleteSession: %v", err)
	}
	_, err = s.Session(ctx, "s-missing")
	wantKind(t, `Session("s-missing")`, err, tansa.NotFound)
	wantUnchangedAudit(t, s, "session calls", prev)
}

func sessionExists(t *testing.T, s access.Store, hash string) bool {
	t.Helper()
	_, err := s.Session(t.Context(), hash)
	switch {
	case err == nil:
		return true
	case tansa.KindOf(err) == tansa.NotFound:
		return false
	}
	t.Fatalf("Session(%q): %v", hash, err)
	return false
}

func testDeleteSessionsByUser(t *testing.T, s access.Store) {
	ctx := t.Context()
	for _, ss := range []tansa.Session{
		{Hash: "s-a1", UserID: "u-a", Created: at(0), LastSeen: at(0)},
		{Hash: "s-a2", UserID: "u-a", Created: at(0), LastSeen: at(time.Hour)},
		{Hash: "s-b1", UserID: "u-b", Created: at(0), LastSeen: at(0)},
	} {
		mustCreateSession(t, s, ss)
	}
	n, err := s.DeleteSessions(ctx, "u-a", time.Time{}, time.Time{})
	if err != nil {
		t.Fatalf("DeleteSessions(u-a): %v", err)
	}
	if n != 2 {
		t.Errorf("DeleteSessions(u-a) = %d, want 2", n)
	}
	for hash, want := range map[string]bool{"s-a1": false, "s-a2": false, "s-b1": true} {
		if got := sessionExists(t, s, hash); got != want {
			t.Errorf("session %s exists after DeleteSessions(u-a) = %v, want %v", hash, got, want)
		}
	}
	n, err = s.DeleteSessions(ctx, "u-nobody", time.Time{}, time.Time{})
	if err != nil || n != 0 {
		t.Errorf("DeleteSessions(u-nobody) = %d, %v; want 0, nil", n, err)
	}
}

func testDeleteSessionsExpired(t *testing.T, s access.Store) {
	ctx := t.Context()
	idle, created := at(-30*time.Minute), at(-12*time.Hour)
	for _, ss := range []tansa.Session{
		{Hash: "fresh", UserID: "u-1", Created: at(-time.Hour), LastSeen: at(-time.Minute)},
		{Hash: "idle", UserID: "u-1", Created: at(-time.Hour), LastSeen: idle.Add(-time.Microsecond)},
		{Hash: "idle-boundary", UserID: "u-2", Created: at(-time.Hour), LastSeen: idle},
		{Hash: "old", UserID: "u-2", Created: created.Add(-time.Microsecond), LastSeen: at(-time.Minute)},
		{Hash: "old-boundary", UserID: "u-3", Created: created, LastSeen: at(-time.Minute)},
	} {
		mustCreateSession(t, s, ss)
	}
	n, err := s.DeleteSessions(ctx, "", idle, created)
	if err != nil {
		t.Fatalf("DeleteSessions: %v", err)
	}
	if n != 2 {
		t.Errorf("DeleteSessions(idle %v, created %v) = %d, want 2", idle, created, n)
	}
	for hash, want := range map[string]bool{"fresh": true, "idle": false, "idle-boundary": true, "old": false, "old-boundary": true} {
		if got := sessionExists(t, s, hash); got != want {
			t.Errorf("session %q exists after DeleteSessions of the expired = %v, want %v", hash, got, want)
		}
	}
}

// ---- audit

func testAuditAppend(t *testing.T, s access.Store) {
	ctx := t.Context()
	a := tansa.AuditEntry{
		Time:       at(time.Second),
		TenantID:   "t-1",
		Actor:      "token:ci-import",
		Addr:       "2001:db8::1",
		Action:     "login.fail",
		ObjectType: "user",
		ObjectID:   "u-1",
		Before:     []byte(`{"failed":1}`),
		After:      []byte(`{"failed":2,"note":"日本語"}`),
	}
	if err := s.AppendAudit(ctx, a); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	wantAppended(t, s, "AppendAudit", 0, a)

	bare := tansa.AuditEntry{Time: at(2 * time.Second), Actor: "system", Action: "maintenance.run"}
	if err := s.AppendAudit(ctx, bare); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	wantAppended(t, s, "AppendAudit without object or JSON", 1, bare)

	got, _, err := s.Audit(ctx, access.AuditQuery{Scope: access.Scope{All: true}, Page: access.Page{Limit: 10}})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if len(got) == 2 && got[0].ID <= got[1].ID {
		t.Errorf("audit IDs: newer entry has ID %d, older %d; want the newer larger", got[0].ID, got[1].ID)
	}
}

func appendAll(t *testing.T, s access.Store, entries []tansa.AuditEntry) {
	t.Helper()
	for _, a := range entries {
		if err := s.AppendAudit(t.Context(), a); err != nil {
			t.Fatalf("AppendAudit(%+v): %v", a, err)
		}
	}
}

func testAuditFilters(t *testing.T, s access.Store) {
	mk := func(obj string, d time.Duration, actor, action string) tansa.AuditEntry {
		return tansa.AuditEntry{Time: at(d), TenantID: "t-1", Actor: actor, Action: action, ObjectType: "x", ObjectID: obj}
	}
	// Appended in time order, so newest first is both by time and by ID.
	appendAll(t, s, []tansa.AuditEntry{
		mk("o1", 1*time.Minute, "user:alice", "user.create"),
		mk("o2", 2*time.Minute, "user:bob", "user.update"),
		mk("o3", 3*time.Minute, "user:alice", "users.export"),
		mk("o4", 4*time.Minute, "system", "user"),
		mk("o5", 5*time.Minute, "user:alice", "tenant.create"),
		mk("o6", 6*time.Minute, "user:bob", "a_b.run"),
		mk("o7", 7*time.Minute, "user:bob", "axb.run"),
		mk("o1", 8*time.Minute, "user:ALICE", "user.delete"),
		mk("o9", 9*time.Minute, "system", "USER.legacy"),
	})
	all := access.Scope{All: true}
	for _, tc := range []struct {
		name string
		q    access.AuditQuery
		want []string
	}{
		{"no filter, newest first", access.AuditQuery{}, []string{"o9", "o1", "o7", "o6", "o5", "o4", "o3", "o2", "o1"}},
		{"Action exact", access.AuditQuery{Action: "user.create"}, []string{"o1"}},
		{"Action exact without dot is not a prefix", access.AuditQuery{Action: "user"}, []string{"o4"}},
		{"Action prefix", access.AuditQuery{Action: "user."}, []string{"o1", "o2", "o1"}},
		{"Action prefix is case-sensitive", access.AuditQuery{Action: "USER."}, []string{"o9"}},
		{"Action prefix with _ literal", access.AuditQuery{Action: "a_b."}, []string{"o6"}},
		{"Action unknown", access.AuditQuery{Action: "case.close"}, nil},
		{"Actor exact", access.AuditQuery{Actor: "user:alice"}, []string{"o5", "o3", "o1"}},
		{"ObjectID", access.AuditQuery{ObjectID: "o1"}, []string{"o1", "o1"}},
		{"Since inclusive", access.AuditQuery{Since: at(7 * time.Minute)}, []string{"o9", "o1", "o7"}},
		{"Until exclusive", access.AuditQuery{Until: at(2 * time.Minute)}, []string{"o1"}},
		{"Since and Until", access.AuditQuery{Since: at(3 * time.Minute), Until: at(5 * time.Minute)}, []string{"o4", "o3"}},
		{"Actor and Action prefix", access.AuditQuery{Actor: "user:bob", Action: "user."}, []string{"o2"}},
	} {
		tc.q.Scope = all
		tc.q.Page = access.Page{Limit: 100}
		got, n, err := s.Audit(t.Context(), tc.q)
		if err != nil {
			t.Fatalf("Audit(%+v): %v", tc.q, err)
		}
		wantIDs(t, "Audit "+tc.name, ids(got, auditObj), n, tc.want, len(tc.want))
	}
}

func testAuditScopeOrderPage(t *testing.T, s access.Store) {
	ctx := t.Context()
	mk := func(obj, tenant string) tansa.AuditEntry {
		return tansa.AuditEntry{Time: at(0), TenantID: tenant, Actor: "system", Action: "x.y", ObjectID: obj}
	}
	// Equal times: the order of appending decides what is newest.
	appendAll(t, s, []tansa.AuditEntry{mk("1", "t-a"), mk("2", ""), mk("3", "t-b"), mk("4", "t-a"), mk("5", "t-c")})
	for _, tc := range []struct {
		name  string
		scope access.Scope
		want  []string
	}{
		{"All", access.Scope{All: true}, []string{"5", "4", "3", "2", "1"}},
		{"Tenants", access.Scope{Tenants: []string{"t-a", "t-c"}}, []string{"5", "4", "1"}},
		{"Tenants with Provider", access.Scope{Tenants: []string{"t-b"}, Provider: true}, []string{"3", "2"}},
		{"Provider alone", access.Scope{Provider: true}, []string{"2"}},
		{"zero Scope", access.Scope{}, nil},
	} {
		got, n, err := s.Audit(ctx, access.AuditQuery{Scope: tc.scope, Page: access.Page{Limit: 100}})
		if err != nil {
			t.Fatalf("Audit: %v", err)
		}
		wantIDs(t, "Audit "+tc.name, ids(got, auditObj), n, tc.want, len(tc.want))
	}
	for _, tc := range []struct {
		page access.Page
		want []string
	}{
		{access.Page{Limit: 2}, []string{"5", "4"}},
		{access.Page{Limit: 2, Offset: 2}, []string{"3", "2"}},
		{access.Page{Limit: 2, Offset: 4}, []string{"1"}},
		{access.Page{Limit: 2, Offset: 5}, nil},
		{access.Page{}, nil},
	} {
		got, n, err := s.Audit(ctx, access.AuditQuery{Scope: access.Scope{All: true}, Page: tc.page})
		if err != nil {
			t.Fatalf("Audit: %v", err)
		}
		wantIDs(t, fmt.Sprintf("Audit %+v", tc.page), ids(got, auditObj), n, tc.want, 5)
	}
}

// ---- cross-cutting

// testTimeRoundTrip writes times with nanoseconds in a non-UTC zone and
// expects them back truncated to the microsecond, in UTC.
func testTimeRoundTrip(t *testing.T, s access.Store) {
	ctx := t.Context()
	jst := time.FixedZone("JST", 9*60*60)
	in := time.Date(2026, 7, 15, 18, 30, 45, 123456789, jst)
	want := time.Date(2026, 7, 15, 9, 30, 45, 123456000, time.UTC)
	check := func(what string, got time.Time) {
		t.Helper()
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s = %v (%s), want %v (UTC)", what, got, got.Location(), want)
		}
	}

	tn := newTenant("t-1", "Acme")
	tn.Created, tn.Updated = in, in
	mustCreateTenant(t, s, tn)
	gotT, err := s.Tenant(ctx, "t-1")
	if err != nil {
		t.Fatalf("Tenant: %v", err)
	}
	check("Tenant.Created", gotT.Created)
	check("Tenant.Updated", gotT.Updated)

	u := newUser("u-1", "alice", tansa.RoleTenantAdmin, "t-1")
	u.Created, u.Updated, u.LockedUntil, u.LastLogin = in, in, in, in
	mustCreateUser(t, s, u)
	gotU, err := s.User(ctx, "u-1")
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	check("User.Created", gotU.Created)
	check("User.Updated", gotU.Updated)
	check("User.LockedUntil", gotU.LockedUntil)
	check("User.LastLogin", gotU.LastLogin)

	tk := newToken("k-1", "t-1", in)
	tk.Expires = in
	mustCreateToken(t, s, tk)
	if err := s.TouchToken(ctx, "k-1", in); err != nil {
		t.Fatalf("TouchToken: %v", err)
	}
	if err := s.RevokeToken(ctx, "k-1", in, entry("token.revoke", "token", "k-1", "t-1")); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	gotK, err := s.Token(ctx, "k-1")
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	check("Token.Created", gotK.Created)
	check("Token.Expires", gotK.Expires)
	check("Token.LastUsed", gotK.LastUsed)
	check("Token.Revoked", gotK.Revoked)

	mustCreateSession(t, s, tansa.Session{Hash: "s-1", UserID: "u-1", Created: in, LastSeen: in})
	gotS, err := s.Session(ctx, "s-1")
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	check("Session.Created", gotS.Created)
	check("Session.LastSeen", gotS.LastSeen)

	a := entry("x.y", "x", "o", "t-1")
	a.Time = in
	if err := s.AppendAudit(ctx, a); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	gotA, _, err := s.Audit(ctx, access.AuditQuery{Scope: access.Scope{All: true}, Page: access.Page{Limit: 1}})
	if err != nil || len(gotA) != 1 {
		t.Fatalf("Audit: %d entries, %v", len(gotA), err)
	}
	check("AuditEntry.Time", gotA[0].Time)

	// A filter at the stored instant finds the entry, one microsecond later
	// does not.
	_, n, err := s.Audit(ctx, access.AuditQuery{Scope: access.Scope{All: true}, Action: "x.y", Since: want})
	if err != nil || n != 1 {
		t.Errorf("Audit Since the entry's own time: total %d, %v; want 1", n, err)
	}
	_, n, err = s.Audit(ctx, access.AuditQuery{Scope: access.Scope{All: true}, Action: "x.y", Since: want.Add(time.Microsecond)})
	if err != nil || n != 0 {
		t.Errorf("Audit Since a microsecond after the entry: total %d, %v; want 0", n, err)
	}
}

func testConcurrentWriters(t *testing.T, s access.Store) {
	const writers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("u-%d-%d", w, i)
				u := newUser(id, "user"+id, tansa.RoleTenantViewer, "t-1")
				if err := s.CreateUser(t.Context(), u, entry("user.create", "user", id, "t-1")); err != nil {
					errs <- fmt.Errorf("writer %d: CreateUser(%s): %w", w, id, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, n, err := s.Users(t.Context(), access.UserQuery{Scope: access.Scope{All: true}, Page: access.Page{Limit: 100}})
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if n != writers*each || len(got) != writers*each {
		t.Errorf("Users after %d concurrent creations: %d listed, total %d; want %d", writers*each, len(got), n, writers*each)
	}
	entries, n, err := s.Audit(t.Context(), access.AuditQuery{Scope: access.Scope{All: true}, Action: "user.create", Page: access.Page{Limit: 100}})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if n != writers*each {
		t.Errorf("audit entries after %d concurrent creations: %d, want %d", writers*each, n, writers*each)
	}
	seen := map[int64]bool{}
	for _, a := range entries {
		if seen[a.ID] {
			t.Errorf("audit ID %d appears twice", a.ID)
		}
		seen[a.ID] = true
	}
}

// counter is the optional metrics method of the SQL stores.
type counter interface {
	Counts(ctx context.Context) (map[string]int64, error)
}

func testCounts(t *testing.T, s access.Store) {
	c, ok := s.(counter)
	if !ok {
		t.Skip("the store has no Counts method")
	}
	ctx := t.Context()
	got, err := c.Counts(ctx)
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	want := map[string]int64{"tenants": 0, "users": 0, "tokens": 0, "sessions": 0, "audit": 0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Counts of an empty store = %v, want %v", got, want)
	}
	mustCreateTenant(t, s, newTenant("t-1", "Acme"))
	mustCreateTenant(t, s, newTenant("t-2", "Beta"))
	mustCreateUser(t, s, newUser("u-1", "alice", tansa.RoleTenantAdmin, "t-1"))
	mustCreateToken(t, s, newToken("k-1", "t-1", at(0)))
	mustCreateSession(t, s, tansa.Session{Hash: "s-1", UserID: "u-1", Created: at(0), LastSeen: at(0)})
	mustCreateSession(t, s, tansa.Session{Hash: "s-2", UserID: "u-1", Created: at(0), LastSeen: at(0)})
	// A refused change must not be counted in the audit log.
	if err := s.CreateTenant(ctx, newTenant("t-3", "Acme"), entry("tenant.create", "tenant", "t-3", "t-3")); tansa.KindOf(err) != tansa.Conflict {
		t.Fatalf("CreateTenant of a duplicate: got %v, want kind %v", err, tansa.Conflict)
	}
	got, err = c.Counts(ctx)
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	want = map[string]int64{"tenants": 2, "users": 1, "tokens": 1, "sessions": 2, "audit": 4}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Counts = %v, want %v", got, want)
	}
}

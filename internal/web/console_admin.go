package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// The console's admin area: the tenant switcher, language and personal
// settings, and the pages for tenants, users, API tokens and the audit log.
// Every handler calls the access service with the request's caller; the
// service decides, the pages only hide what would be refused.

// maxForm bounds every console form body.
const maxForm = 64 << 10

// readForm parses a console form. An unreadable or oversized body is the
// browser's fault, so it is an Invalid error with a plain message.
func readForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return tansa.Errorf(tansa.Invalid, "the form could not be read")
	}
	return nil
}

// formFailure reports whether err belongs next to the form that caused it
// (the person can correct the input) rather than on an error page.
func formFailure(err error) bool {
	switch tansa.KindOf(err) {
	case tansa.Invalid, tansa.Conflict, tansa.Forbidden, tansa.TooLarge:
		return true
	}
	return false
}

// formError is the message shown above a form: a translated frame around
// the service's own words, which already say which field and why.
func (v *view) formError(err error) string { return v.T("form.failed", tansa.MessageOf(err)) }

// backTo returns an on-site address to send the browser back to after a
// small change: next when given, else the referring page, without the
// flash message that page was showing.
func backTo(r *http.Request, next string) string {
	if next == "" {
		if ref, err := url.Parse(r.Referer()); err == nil && ref.Path != "" {
			next = ref.RequestURI()
		}
	}
	next = safeNext(next)
	u, err := url.Parse(next)
	if err != nil {
		return "/"
	}
	q := u.Query()
	if q.Has("flash") {
		q.Del("flash")
		u.RawQuery = q.Encode()
	}
	return safeNext(u.RequestURI())
}

// listURL is the current list page's address without its flash message, for
// forms that come back to it.
func listURL(r *http.Request) string { return backTo(r, r.URL.RequestURI()) }

// pager places one page of a list and links to its neighbours, keeping the
// list's filters.
type pager struct {
	From, To, Total int
	// More says that Total is a lower bound: the list counted its matches
	// only that far (events.Query.CountLimit).
	More       bool
	Prev, Next string
}

func newPager(r *http.Request, p access.Page, shown, total int) pager {
	pg := pager{Total: total}
	if shown > 0 {
		pg.From, pg.To = p.Offset+1, p.Offset+shown
	}
	link := func(offset int) string {
		q := r.URL.Query()
		q.Del("flash")
		if offset > 0 {
			q.Set("offset", strconv.Itoa(offset))
		} else {
			q.Del("offset")
		}
		if len(q) == 0 {
			return r.URL.Path
		}
		return r.URL.Path + "?" + q.Encode()
	}
	if p.Offset > 0 && p.Limit > 0 {
		pg.Prev = link(max(0, p.Offset-p.Limit))
	}
	if p.Limit > 0 && p.Offset+shown < total {
		pg.Next = link(p.Offset + p.Limit)
	}
	return pg
}

// consolePaging is paging with the console's default page size: a list
// that fits the screen without scrolling far.
func consolePaging(r *http.Request) (access.Page, error) {
	p, err := paging(r)
	if err != nil {
		return p, err
	}
	if r.URL.Query().Get("limit") == "" {
		p.Limit = 25
	}
	return p, nil
}

// grantable lists the roles the viewer may give to a user (people) or a
// token. The service decides; this only keeps refused choices out of forms.
func grantable(r tansa.Role, people bool) []tansa.Role {
	var out []tansa.Role
	switch r {
	case tansa.RoleProviderAdmin:
		out = []tansa.Role{tansa.RoleProviderAdmin, tansa.RoleProviderAnalyst, tansa.RoleTenantAdmin, tansa.RoleTenantViewer, tansa.RoleIngest, tansa.RoleScanner}
	case tansa.RoleTenantAdmin:
		out = []tansa.Role{tansa.RoleTenantAdmin, tansa.RoleTenantViewer, tansa.RoleIngest, tansa.RoleScanner}
	}
	if people {
		out = slices.DeleteFunc(out, tansa.Role.Machine)
	}
	return out
}

// peopleRoles are the roles a user may hold, for the users list filter.
func peopleRoles() []tansa.Role {
	return []tansa.Role{tansa.RoleProviderAdmin, tansa.RoleProviderAnalyst, tansa.RoleTenantAdmin, tansa.RoleTenantViewer}
}

// timeZones are offered as suggestions; any IANA name is accepted. They are
// the zones of a Japanese group's usual sites.
func timeZones() []string {
	return []string{"Asia/Tokyo", "Asia/Seoul", "Asia/Shanghai", "Asia/Taipei", "Asia/Hong_Kong", "Asia/Singapore",
		"Asia/Bangkok", "Asia/Ho_Chi_Minh", "Asia/Jakarta", "Asia/Manila", "Asia/Kolkata", "Asia/Dubai",
		"Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York", "America/Chicago",
		"America/Los_Angeles", "America/Sao_Paulo", "Australia/Sydney", "UTC"}
}

func ptr[T any](v T) *T { return &v }

// ---- tenant switcher and language

func (s *Server) pageSwitchTenant(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		s.pageError(w, r, tansa.Errorf(tansa.Unauthorized, "log in again"))
		return
	}
	id := r.PostFormValue("tenant")
	if id != "" {
		// The service checks reach, not existence: a provider reaching
		// every tenant would otherwise look at one that is not there.
		if _, err := s.deps.Access.Tenant(r.Context(), caller(r), id); err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	if err := s.deps.Access.SwitchTenant(r.Context(), c.Value, caller(r), id); err != nil {
		s.pageError(w, r, err)
		return
	}
	redirect(w, r, backTo(r, r.PostFormValue("next")), "")
}

func (s *Server) pageLanguage(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	lang := r.PostFormValue("language")
	if _, err := s.deps.Access.UpdateSelf(r.Context(), caller(r), access.PrefsInput{Language: &lang}); err != nil {
		s.pageError(w, r, err)
		return
	}
	// The login page after logging out speaks the same language.
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", HttpOnly: true, Secure: s.deps.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	redirect(w, r, backTo(r, r.PostFormValue("next")), "")
}

// ---- settings

// settingsForm is the personal settings form as entered.
type settingsForm struct {
	Name, Email, Language, TimeZone string
	// Known is false when the user's current name and e-mail could not be
	// read (their role may not read users); empty fields then mean
	// "unchanged" rather than "clear".
	Known bool
}

type settingsPage struct {
	Form      settingsForm
	TimeZones []string
	// PasswordError is shown beside the password form, Error beside the
	// profile form.
	PasswordError string
}

// self reads the calling user's own record, which every role may see.
func (s *Server) self(r *http.Request) (tansa.User, bool) {
	u, err := s.deps.Access.Self(r.Context(), caller(r))
	return u, err == nil
}

func (s *Server) pageSettings(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "settings.title")
	f := settingsForm{Language: v.User.Language, TimeZone: v.User.TimeZone}
	if u, ok := s.self(r); ok {
		f.Name, f.Email, f.Known = u.Name, u.Email, true
	}
	v.Data = settingsPage{Form: f, TimeZones: timeZones()}
	s.render(w, r, http.StatusOK, "settings", v)
}

func (s *Server) pageSettingsPost(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	if r.PostFormValue("form") == "password" {
		s.changeOwnPassword(w, r)
		return
	}
	f := settingsForm{Name: r.PostFormValue("name"), Email: r.PostFormValue("email"),
		Language: r.PostFormValue("language"), TimeZone: r.PostFormValue("time_zone"), Known: r.PostFormValue("known") == "1"}
	in := access.PrefsInput{Language: &f.Language, TimeZone: &f.TimeZone}
	if f.Known || f.Name != "" {
		in.Name = &f.Name
	}
	if f.Known || f.Email != "" {
		in.Email = &f.Email
	}
	if _, err := s.deps.Access.UpdateSelf(r.Context(), caller(r), in); err != nil {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		v := s.newView(r, "settings.title")
		v.Error = v.formError(err)
		v.Data = settingsPage{Form: f, TimeZones: timeZones()}
		s.render(w, r, statusOf(tansa.KindOf(err)), "settings", v)
		return
	}
	redirect(w, r, "/settings", "flash.settings_saved")
}

// changeOwnPassword ends every session of the user, this one included, so
// success leads to the login page.
func (s *Server) changeOwnPassword(w http.ResponseWriter, r *http.Request) {
	current, pw, confirm := r.PostFormValue("current"), r.PostFormValue("password"), r.PostFormValue("confirm")
	var err error
	if pw != confirm {
		err = tansa.Errorf(tansa.Invalid, "confirm: does not match the new password")
	} else {
		err = s.deps.Access.ChangeOwnPassword(r.Context(), caller(r), current, pw)
	}
	if err != nil {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		v := s.newView(r, "settings.title")
		f := settingsForm{Language: v.User.Language, TimeZone: v.User.TimeZone}
		if u, ok := s.self(r); ok {
			f.Name, f.Email, f.Known = u.Name, u.Email, true
		}
		v.Data = settingsPage{Form: f, TimeZones: timeZones(), PasswordError: v.formError(err)}
		s.render(w, r, statusOf(tansa.KindOf(err)), "settings", v)
		return
	}
	s.setSession(w, "")
	redirect(w, r, "/login", "flash.password_changed")
}

// ---- tenants

// tenantForm is a tenant's form as entered.
type tenantForm struct {
	Name, Country, Language, TimeZone string
	Retention                         string // days, as typed
}

func (f tenantForm) input() access.TenantInput {
	in := access.TenantInput{Name: ptr(f.Name), Country: ptr(strings.ToUpper(f.Country)), Language: ptr(f.Language), TimeZone: ptr(f.TimeZone)}
	if f.Retention != "" {
		// A value that is not a number becomes -1, which the service
		// refuses with its own message naming the field.
		days, err := strconv.Atoi(f.Retention)
		if err != nil {
			days = -1
		}
		in.RetentionDays = &days
	}
	return in
}

func tenantFormOf(r *http.Request) tenantForm {
	return tenantForm{Name: r.PostFormValue("name"), Country: strings.TrimSpace(r.PostFormValue("country")),
		Language: r.PostFormValue("language"), TimeZone: strings.TrimSpace(r.PostFormValue("time_zone")),
		Retention: strings.TrimSpace(r.PostFormValue("retention_days"))}
}

type tenantsPage struct {
	Items     []tansa.Tenant
	Q         string
	Pager     pager
	Form      tenantForm
	TimeZones []string
}

func (s *Server) pageTenants(w http.ResponseWriter, r *http.Request) {
	s.showTenants(w, r, http.StatusOK, tenantForm{Language: "en", TimeZone: "UTC"}, "")
}

// showTenants renders the tenant list with the create form holding f.
func (s *Server) showTenants(w http.ResponseWriter, r *http.Request, status int, f tenantForm, formErr string) {
	p, err := consolePaging(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	q := r.URL.Query().Get("q")
	items, total, err := s.deps.Access.Tenants(r.Context(), caller(r), access.TenantQuery{Text: q, Page: p})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := s.newView(r, "tenants.title")
	v.Error = formErr
	v.Data = tenantsPage{Items: items, Q: q, Pager: newPager(r, p, len(items), total), Form: f, TimeZones: timeZones()}
	s.render(w, r, status, "tenants", v)
}

func (s *Server) pageCreateTenant(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	f := tenantFormOf(r)
	t, err := s.deps.Access.CreateTenant(r.Context(), caller(r), f.input())
	if err != nil {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		v := s.newView(r, "tenants.title")
		s.showTenants(w, r, statusOf(tansa.KindOf(err)), f, v.formError(err))
		return
	}
	redirect(w, r, "/admin/tenants/"+url.PathEscape(t.ID), "flash.tenant_created")
}

type tenantPage struct {
	Tenant    tansa.Tenant
	Form      tenantForm
	Contacts  []contactRow // the form's rows, with blank ones for adding
	TimeZones []string
}

// contactRow is one row of the contacts table; N numbers it for the
// labels of its inputs.
type contactRow struct {
	N int
	tansa.Contact
}

// withBlankContacts returns cs followed by blank rows for new contacts, up
// to the service's limit of 20.
func withBlankContacts(cs []tansa.Contact) []contactRow {
	rows := make([]contactRow, 0, len(cs)+2)
	for i, c := range cs {
		rows = append(rows, contactRow{N: i + 1, Contact: c})
	}
	for len(rows) < len(cs)+2 && len(rows) < 20 {
		rows = append(rows, contactRow{N: len(rows) + 1})
	}
	return rows
}

// contactsOf reads the contact rows of the tenant form, dropping blank rows.
func contactsOf(r *http.Request) []tansa.Contact {
	f := r.PostForm
	names, emails, phones, roles := f["contact_name"], f["contact_email"], f["contact_phone"], f["contact_role"]
	n := max(len(names), len(emails), len(phones), len(roles))
	at := func(s []string, i int) string {
		if i < len(s) {
			return strings.TrimSpace(s[i])
		}
		return ""
	}
	cs := []tansa.Contact{}
	for i := range n {
		c := tansa.Contact{Name: at(names, i), Email: at(emails, i), Phone: at(phones, i), Role: at(roles, i)}
		if c != (tansa.Contact{}) {
			cs = append(cs, c)
		}
	}
	return cs
}

func (s *Server) pageTenant(w http.ResponseWriter, r *http.Request) {
	t, err := s.deps.Access.Tenant(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := s.newView(r, "tenant.title")
	v.Title = t.Name
	v.Data = tenantPage{Tenant: t, Form: tenantForm{Name: t.Name, Country: t.Country, Language: t.Language, TimeZone: t.TimeZone, Retention: strconv.Itoa(t.RetentionDays)},
		Contacts: withBlankContacts(t.Contacts), TimeZones: timeZones()}
	s.render(w, r, http.StatusOK, "tenant", v)
}

func (s *Server) pageUpdateTenant(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	id := r.PathValue("id")
	f, cs := tenantFormOf(r), contactsOf(r)
	in := f.input()
	in.Contacts = &cs
	if _, err := s.deps.Access.UpdateTenant(r.Context(), caller(r), id, in); err != nil {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		t, terr := s.deps.Access.Tenant(r.Context(), caller(r), id)
		if terr != nil {
			s.pageError(w, r, terr)
			return
		}
		v := s.newView(r, "tenant.title")
		v.Title = t.Name
		v.Error = v.formError(err)
		v.Data = tenantPage{Tenant: t, Form: f, Contacts: withBlankContacts(cs), TimeZones: timeZones()}
		s.render(w, r, statusOf(tansa.KindOf(err)), "tenant", v)
		return
	}
	redirect(w, r, "/admin/tenants/"+url.PathEscape(id), "flash.tenant_saved")
}

// ---- users

// userForm is the create-user form as entered; the password is never
// shown again.
type userForm struct {
	Username, Name, Email, Role, TenantID, Language string
}

type usersPage struct {
	Items     []tansa.User
	Q         string
	Role      string
	Tenant    string
	Pager     pager
	Roles     []tansa.Role // the role filter's choices
	Grantable []tansa.Role // the create form's
	Form      userForm
	Back      string // this list's address, for the row actions to return to
	Now       time.Time
}

// defaultTenant is the tenant a new tenant-role user or token belongs to
// unless the form says otherwise: the viewer's own, the one chosen in the
// switcher, or else the first the viewer reaches.
func (s *Server) defaultTenant(r *http.Request) string {
	p, _ := principalOf(r)
	switch {
	case !p.Role.Provider():
		return p.TenantID
	case p.Current != "":
		return p.Current
	}
	if ts, err := s.deps.Access.SwitcherTenants(r.Context(), caller(r)); err == nil && len(ts) > 0 {
		return ts[0].ID
	}
	return ""
}

func (s *Server) pageUsers(w http.ResponseWriter, r *http.Request) {
	s.showUsers(w, r, http.StatusOK, userForm{Role: string(tansa.RoleTenantViewer), TenantID: s.defaultTenant(r)}, "")
}

func (s *Server) showUsers(w http.ResponseWriter, r *http.Request, status int, f userForm, formErr string) {
	p, err := consolePaging(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	qv := r.URL.Query()
	uq := access.UserQuery{Scope: askedScope(r), Text: qv.Get("q"), Role: tansa.Role(qv.Get("role")), Page: p}
	items, total, err := s.deps.Access.Users(r.Context(), caller(r), uq)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := s.newView(r, "users.title")
	v.Error = formErr
	v.Data = usersPage{Items: items, Q: uq.Text, Role: string(uq.Role), Tenant: qv.Get("tenant"), Pager: newPager(r, p, len(items), total),
		Roles: peopleRoles(), Grantable: grantable(v.User.Role, true), Form: f, Back: listURL(r), Now: time.Now()}
	s.render(w, r, status, "users", v)
}

func (s *Server) pageCreateUser(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	f := userForm{Username: strings.TrimSpace(r.PostFormValue("username")), Name: r.PostFormValue("name"),
		Email: strings.TrimSpace(r.PostFormValue("email")), Role: r.PostFormValue("role"),
		TenantID: r.PostFormValue("tenant_id"), Language: r.PostFormValue("language")}
	role := tansa.Role(f.Role)
	in := access.UserInput{Username: &f.Username, Name: &f.Name, Email: &f.Email, Role: &role,
		Language: &f.Language, Password: ptr(r.PostFormValue("password"))}
	if f.TenantID != "" || role.Provider() {
		in.TenantID = &f.TenantID
	}
	u, err := s.deps.Access.CreateUser(r.Context(), caller(r), in)
	if err != nil {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		v := s.newView(r, "users.title")
		s.showUsers(w, r, statusOf(tansa.KindOf(err)), f, v.formError(err))
		return
	}
	redirect(w, r, "/admin/users?q="+url.QueryEscape(u.Username), "flash.user_created")
}

// passwordResetPage shows a new password once.
type passwordResetPage struct {
	User     tansa.User
	Password string
	Back     string
}

func (s *Server) pageUserAction(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	id, back := r.PathValue("id"), backTo(r, r.PostFormValue("next"))
	switch action := r.PostFormValue("action"); action {
	case "disable", "enable":
		if _, err := s.deps.Access.UpdateUser(r.Context(), caller(r), id, access.UserInput{Disabled: ptr(action == "disable")}); err != nil {
			s.pageError(w, r, err)
			return
		}
		flash := "flash.user_enabled"
		if action == "disable" {
			flash = "flash.user_disabled"
		}
		redirect(w, r, back, flash)
	case "reset":
		u, err := s.deps.Access.User(r.Context(), caller(r), id)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		pw, err := s.deps.Access.ResetPassword(r.Context(), caller(r), id, "")
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		v := s.newView(r, "password_reset.title")
		v.Data = passwordResetPage{User: u, Password: pw, Back: back}
		s.render(w, r, http.StatusOK, "password_reset", v)
	default:
		s.pageError(w, r, tansa.Errorf(tansa.Invalid, "action: %q is not one of disable, enable, reset", action))
	}
}

// ---- tokens

// tokenForm is the create-token form as entered.
type tokenForm struct {
	Name, Role, TenantID, ExpiresIn string
}

type tokensPage struct {
	Items     []tansa.Token
	Pager     pager
	Grantable []tansa.Role
	Form      tokenForm
	Now       time.Time
}

// expiries are the create-token form's choices, as Go durations; empty
// never expires.
func expiries() []string { return []string{"24h", "168h", "720h", "2160h", "8760h", ""} }

func (s *Server) pageTokens(w http.ResponseWriter, r *http.Request) {
	s.showTokens(w, r, http.StatusOK, tokenForm{Role: string(tansa.RoleIngest), TenantID: s.defaultTenant(r), ExpiresIn: "2160h"}, "")
}

func (s *Server) showTokens(w http.ResponseWriter, r *http.Request, status int, f tokenForm, formErr string) {
	p, err := consolePaging(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	items, total, err := s.deps.Access.Tokens(r.Context(), caller(r), access.TokenQuery{Scope: askedScope(r), Page: p})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := s.newView(r, "tokens.title")
	v.Error = formErr
	v.Data = tokensPage{Items: items, Pager: newPager(r, p, len(items), total), Grantable: grantable(v.User.Role, false), Form: f, Now: time.Now()}
	s.render(w, r, status, "tokens", v)
}

// tokenCreatedPage shows a new token's secret once.
type tokenCreatedPage struct {
	Token  tansa.Token
	Secret string
}

func (s *Server) pageCreateToken(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	f := tokenForm{Name: strings.TrimSpace(r.PostFormValue("name")), Role: r.PostFormValue("role"),
		TenantID: r.PostFormValue("tenant_id"), ExpiresIn: r.PostFormValue("expires_in")}
	t, secret, err := s.deps.Access.CreateToken(r.Context(), caller(r), access.TokenInput{Name: f.Name, Role: tansa.Role(f.Role),
		TenantID: f.TenantID, ExpiresIn: f.ExpiresIn})
	if err != nil {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		v := s.newView(r, "tokens.title")
		s.showTokens(w, r, statusOf(tansa.KindOf(err)), f, v.formError(err))
		return
	}
	v := s.newView(r, "token_created.title")
	v.Data = tokenCreatedPage{Token: t, Secret: secret}
	s.render(w, r, http.StatusCreated, "token_created", v)
}

func (s *Server) pageRevokeToken(w http.ResponseWriter, r *http.Request) {
	if _, err := s.deps.Access.RevokeToken(r.Context(), caller(r), r.PathValue("id")); err != nil {
		s.pageError(w, r, err)
		return
	}
	redirect(w, r, "/admin/tokens", "flash.token_revoked")
}

// ---- audit

// auditFilter is the audit page's filter form as entered. Since and Until
// are in the viewer's time zone, as a datetime-local input gives them.
type auditFilter struct {
	Action, Actor, Object, Tenant, Since, Until string
}

// auditRow is an audit entry with its before and after made readable.
type auditRow struct {
	tansa.AuditEntry
	BeforeJSON, AfterJSON string
}

type auditPage struct {
	Items  []auditRow
	Filter auditFilter
	Pager  pager
}

// parseLocalTime reads a datetime-local value (with or without seconds) in
// loc, or an RFC 3339 time.
func parseLocalTime(field, s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, tansa.Errorf(tansa.Invalid, "%s: %q is not a date and time such as 2026-04-01T09:00", field, s)
}

// prettyJSON indents a stored object for reading; what cannot be indented
// is shown as stored.
func prettyJSON(b json.RawMessage) string {
	if len(b) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return string(b)
	}
	return buf.String()
}

func (s *Server) pageAudit(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "audit.title")
	p, err := consolePaging(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	qv := r.URL.Query()
	f := auditFilter{Action: strings.TrimSpace(qv.Get("action")), Actor: strings.TrimSpace(qv.Get("actor")),
		Object: strings.TrimSpace(qv.Get("object")), Tenant: qv.Get("tenant"), Since: qv.Get("since"), Until: qv.Get("until")}
	q := access.AuditQuery{Scope: askedScope(r), Action: f.Action, Actor: f.Actor, ObjectID: f.Object, Page: p}
	for _, t := range []struct {
		field, value string
		dst          *time.Time
	}{{"since", f.Since, &q.Since}, {"until", f.Until, &q.Until}} {
		if t.value == "" {
			continue
		}
		if *t.dst, err = parseLocalTime(t.field, t.value, v.Loc); err != nil {
			v.Error = v.formError(err)
			v.Data = auditPage{Filter: f}
			s.render(w, r, http.StatusBadRequest, "audit", v)
			return
		}
	}
	items, total, err := s.deps.Access.Audit(r.Context(), caller(r), q)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	rows := make([]auditRow, len(items))
	for i, e := range items {
		rows[i] = auditRow{AuditEntry: e, BeforeJSON: prettyJSON(e.Before), AfterJSON: prettyJSON(e.After)}
	}
	v.Data = auditPage{Items: rows, Filter: f, Pager: newPager(r, p, len(items), total)}
	s.render(w, r, http.StatusOK, "audit", v)
}

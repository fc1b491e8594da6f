package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

//go:embed console/templates/*.html console/static/* console/i18n/*.json
var consoleFS embed.FS

// langCookie remembers the language chosen before logging in.
const langCookie = "tansa_lang"

// catalogue maps language → message key → text. Every string the console
// shows comes from it.
type catalogue map[string]map[string]string

// pages holds the console's parsed templates and message catalogue.
type pages struct {
	tmpl    map[string]*template.Template
	cat     catalogue
	matcher language.Matcher
	static  fs.FS
}

func newPages() *pages {
	p := &pages{tmpl: map[string]*template.Template{}, cat: catalogue{}}
	for _, lang := range access.Languages {
		b, err := consoleFS.ReadFile("console/i18n/" + lang + ".json")
		if err != nil {
			panic(fmt.Sprintf("console catalogue %s: %v", lang, err)) // embedded at build time
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("console catalogue %s: %v", lang, err))
		}
		p.cat[lang] = m
	}
	p.matcher = language.NewMatcher([]language.Tag{language.English, language.Japanese})
	names, err := fs.Glob(consoleFS, "console/templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t := template.New("layout.html").Funcs(templateFuncs)
		p.tmpl[strings.TrimSuffix(base, ".html")] = template.Must(t.ParseFS(consoleFS, "console/templates/layout.html", n))
	}
	p.static, _ = fs.Sub(consoleFS, "console/static")
	return p
}

// templateFuncs are the helpers every template may call. Those that depend
// on the request (t, when) are methods of the view.
var templateFuncs = template.FuncMap{
	"join":    strings.Join,
	"summary": summary,
	"pivot":   pivot,
	"split":   strings.Fields, // cases: a literal list in a template
}

// translate returns the message key in lang, formatted with args. A missing
// key shows as itself so that the gap is visible, and a test keeps the
// catalogues complete.
func (p *pages) translate(lang, key string, args ...any) string {
	msg, ok := p.cat[lang][key]
	if !ok {
		msg, ok = p.cat["en"][key]
	}
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// language picks the console's language: the user's setting, then the
// language chosen on the login page, then the browser's Accept-Language.
func (p *pages) language(r *http.Request) string {
	if pr, ok := principalOf(r); ok && pr.Language != "" {
		return pr.Language
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "ja" || c.Value == "en") {
		return c.Value
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return "en"
	}
	_, i, _ := p.matcher.Match(tags...)
	if i == 1 {
		return "ja"
	}
	return "en"
}

// navItem is one area of the console. Areas whose stage of the pipeline is
// not in this build are listed without a link, so the map of the product
// stays visible and nobody lands on an empty page.
type navItem struct {
	Key, Href, Shortcut string
	Active, Present     bool
}

// view is what every page template receives.
type view struct {
	p        *pages
	Lang     string
	Title    string
	User     access.Principal
	LoggedIn bool
	Tenants  []tansa.Tenant // the switcher's choices, for provider roles
	Nav      []navItem
	Admin    []navItem
	Path     string
	Flash    string
	Error    string
	Loc      *time.Location
	Data     any
}

// T translates a message key in the page's language.
func (v *view) T(key string, args ...any) string { return v.p.translate(v.Lang, key, args...) }

// When formats t in the viewer's time zone.
func (v *view) When(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(v.Loc).Format("2006-01-02 15:04:05 MST")
}

// Can reports whether the viewer holds perm, for showing only what works.
func (v *view) Can(perm string) bool { return v.User.Can(access.Perm(perm)) }

// TenantName returns the name of tenant id among the switcher's choices.
func (v *view) TenantName(id string) string {
	if id == "" {
		return v.T("provider_wide")
	}
	for _, t := range v.Tenants {
		if t.ID == id {
			return t.Name
		}
	}
	return id
}

// newView builds the common part of every page.
func (s *Server) newView(r *http.Request, titleKey string) *view {
	v := &view{p: s.pages, Lang: s.pages.language(r), Path: r.URL.Path, Loc: time.UTC}
	v.Title = v.T(titleKey)
	// Only a catalogue's flash key is shown, so that a crafted link cannot
	// put words of its own on a Tansa page.
	if f := r.URL.Query().Get("flash"); strings.HasPrefix(f, "flash.") {
		if _, ok := s.pages.cat["en"][f]; ok {
			v.Flash = f
		}
	}
	pr, ok := principalOf(r)
	if !ok {
		return v
	}
	v.User, v.LoggedIn = pr, true
	c := caller(r)
	if ts, err := s.deps.Access.SwitcherTenants(r.Context(), c); err == nil {
		v.Tenants = ts
	}
	tz := pr.TimeZone
	if tz == "" && pr.TenantID != "" {
		for _, t := range v.Tenants {
			if t.ID == pr.TenantID {
				tz = t.TimeZone
			}
		}
	}
	if loc, err := time.LoadLocation(tz); err == nil && tz != "" {
		v.Loc = loc
	}
	areas := []struct{ key, href, key2 string }{
		{"nav.alerts", "/alerts", "a"}, {"nav.events", "/events", "e"}, {"nav.cases", "/cases", "c"}, {"nav.tracker", "/tracker", "j"}, {"nav.intel", "/intel", "i"},
		{"nav.endpoints", "/endpoints", "n"}, {"nav.playbooks", "/playbooks", "p"}, {"nav.advisories", "", "v"}, {"nav.reports", "", "r"},
	}
	for _, a := range areas {
		v.Nav = append(v.Nav, navItem{Key: a.key, Href: a.href, Shortcut: a.key2, Present: a.href != "",
			Active: a.href != "" && strings.HasPrefix(r.URL.Path, a.href)})
	}
	admin := []struct {
		key, href, shortcut string
		perm                access.Perm
	}{
		{"nav.tenants", "/admin/tenants", "t", access.PermTenantRead},
		{"nav.users", "/admin/users", "u", access.PermUserRead},
		{"nav.tokens", "/admin/tokens", "k", access.PermTokenRead},
		{"nav.audit", "/admin/audit", "l", access.PermAuditRead},
		{"nav.connectors", "/admin/connectors", "x", access.PermPlaybookRead},
		{"nav.rules", "/rules", "s", access.PermRuleRead},
		{"nav.exceptions", "/exceptions", "w", access.PermRuleRead},
	}
	for _, a := range admin {
		if pr.Can(a.perm) {
			v.Admin = append(v.Admin, navItem{Key: a.key, Href: a.href, Shortcut: a.shortcut, Present: true,
				Active: strings.HasPrefix(r.URL.Path, a.href)})
		}
	}
	return v
}

// render writes page name with v. Rendering into a buffer first means a
// template error becomes a clean 500, never half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t, ok := s.pages.tmpl[name]
	if !ok {
		s.deps.Logger.Error("no such template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		s.deps.Logger.Error("render page", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// pageError shows err as a page; an unauthenticated visitor is sent to the
// login page and brought back afterwards.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	k := tansa.KindOf(err)
	if k == tansa.Unauthorized {
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			next = "/"
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	if k == tansa.Internal {
		s.deps.Logger.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	v := s.newView(r, "error.title")
	v.Error = tansa.MessageOf(err)
	v.Data = statusOf(k)
	s.render(w, r, statusOf(k), "error", v)
}

// redirect sends the browser to target with a message for the next page.
func redirect(w http.ResponseWriter, r *http.Request, target, flash string) {
	if flash != "" {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + "flash=" + url.QueryEscape(flash)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

func (s *Server) pageStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeFileFS(w, r, s.pages.static, r.PathValue("file"))
}

func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) {
	if _, ok := principalOf(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	if l := r.URL.Query().Get("lang"); l == "ja" || l == "en" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
		r.AddCookie(&http.Cookie{Name: langCookie, Value: l})
	}
	v := s.newView(r, "login.title")
	v.Data = r.URL.Query().Get("next")
	s.render(w, r, http.StatusOK, "login", v)
}

func (s *Server) pageLoginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.pageError(w, r, tansa.Errorf(tansa.Invalid, "the login form could not be read"))
		return
	}
	cookie, _, err := s.deps.Access.Login(r.Context(), r.PostFormValue("username"), r.PostFormValue("password"), remoteAddr(r))
	if err != nil {
		k := tansa.KindOf(err)
		if k != tansa.Unauthorized && k != tansa.TooMany {
			s.pageError(w, r, err)
			return
		}
		v := s.newView(r, "login.title")
		v.Error = v.T("login.failed")
		if k == tansa.TooMany {
			v.Error = v.T("login.too_many")
		}
		v.Data = r.PostFormValue("next")
		s.render(w, r, statusOf(k), "login", v)
		return
	}
	s.setSession(w, cookie)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (s *Server) pageLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.deps.Access.Logout(r.Context(), c.Value, caller(r)); err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	s.setSession(w, "")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// homeData is the overview: the tenants in view with their contacts.
type homeData struct {
	Tenants []tansa.Tenant
	Total   int
}

func (s *Server) pageHome(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "home.title")
	ts, total, err := s.deps.Access.Tenants(r.Context(), caller(r), access.TenantQuery{Page: access.Page{Limit: 100}})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Data = homeData{Tenants: ts, Total: total}
	s.render(w, r, http.StatusOK, "home", v)
}

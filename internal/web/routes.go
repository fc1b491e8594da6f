package web

import (
	"net/http"

	"github.com/tansa-sec/tansa/internal/access"
)

// authMode says how a route authenticates.
type authMode int

const (
	authNone authMode = iota // public
	authAny                  // any authenticated principal
	authPerm                 // an authenticated principal holding Perm
)

// route is one entry of the route table: the API, the console and the
// operational endpoints, each declaring what it needs.
type route struct {
	Method  string
	Path    string // a net/http ServeMux pattern path
	Auth    authMode
	Perm    access.Perm
	Page    bool   // a console page: errors render as pages, auth by cookie only
	Summary string // documentation; must match the OpenAPI document for API routes
	h       http.Handler
}

func public(method, path, summary string, h http.HandlerFunc) route {
	return route{Method: method, Path: path, Auth: authNone, Summary: summary, h: h}
}

func authed(method, path, summary string, h http.HandlerFunc) route {
	return route{Method: method, Path: path, Auth: authAny, Summary: summary, h: h}
}

func need(perm access.Perm, method, path, summary string, h http.HandlerFunc) route {
	return route{Method: method, Path: path, Auth: authPerm, Perm: perm, Summary: summary, h: h}
}

func page(r route) route {
	r.Page = true
	return r
}

// routeTable is the whole HTTP surface of Tansa. Later stages of the
// pipeline add their routes here, and the OpenAPI and tenant-isolation
// tests pick them up from this table.
func (s *Server) routeTable() []route {
	return []route{
		// Operations.
		public("GET", "/healthz", "Readiness: 200 once the server is ready.", s.handleHealthz),
		public("GET", "/metrics", "Prometheus metrics.", s.handleMetrics().ServeHTTP),
		public("GET", "/api/v1/openapi.json", "This API's OpenAPI 3 document.", s.apiOpenAPI),

		// API: the caller.
		authed("GET", "/api/v1/me", "Who the caller is.", s.apiMe),
		need(access.PermSelf, "PATCH", "/api/v1/me", "Change the caller's name, e-mail, language or time zone.", s.apiUpdateMe),
		need(access.PermSelf, "POST", "/api/v1/me/password", "Change the caller's password.", s.apiChangeMyPassword),

		// API: tenants.
		need(access.PermTenantRead, "GET", "/api/v1/tenants", "List tenants.", s.apiTenants),
		need(access.PermTenantWrite, "POST", "/api/v1/tenants", "Create a tenant.", s.apiCreateTenant),
		need(access.PermTenantRead, "GET", "/api/v1/tenants/{id}", "Get a tenant.", s.apiTenant),
		need(access.PermTenantWrite, "PATCH", "/api/v1/tenants/{id}", "Change a tenant.", s.apiUpdateTenant),

		// API: users.
		need(access.PermUserRead, "GET", "/api/v1/users", "List users.", s.apiUsers),
		need(access.PermUserWrite, "POST", "/api/v1/users", "Create a user.", s.apiCreateUser),
		need(access.PermUserRead, "GET", "/api/v1/users/{id}", "Get a user.", s.apiUser),
		need(access.PermUserWrite, "PATCH", "/api/v1/users/{id}", "Change a user.", s.apiUpdateUser),
		need(access.PermUserWrite, "POST", "/api/v1/users/{id}/password", "Reset a user's password.", s.apiResetPassword),

		// API: tokens.
		need(access.PermTokenRead, "GET", "/api/v1/tokens", "List API tokens.", s.apiTokens),
		need(access.PermTokenWrite, "POST", "/api/v1/tokens", "Create an API token; its secret is shown once.", s.apiCreateToken),
		need(access.PermTokenRead, "GET", "/api/v1/tokens/{id}", "Get an API token.", s.apiToken),
		need(access.PermTokenWrite, "DELETE", "/api/v1/tokens/{id}", "Revoke an API token.", s.apiRevokeToken),

		// API: audit.
		need(access.PermAuditRead, "GET", "/api/v1/audit", "List audit entries, newest first.", s.apiAudit),

		// Console.
		page(public("GET", "/static/{file...}", "Console assets.", s.pageStatic)),
		page(public("GET", "/login", "Login page.", s.pageLogin)),
		page(public("POST", "/login", "Log in.", s.pageLoginPost)),
		page(authed("POST", "/logout", "Log out.", s.pageLogout)),
		page(authed("GET", "/{$}", "Overview.", s.pageHome)),
		// Console: the admin area (console_admin.go).
		page(authed("POST", "/switch-tenant", "Choose the tenant the console shows.", s.pageSwitchTenant)),
		page(need(access.PermSelf, "POST", "/language", "Choose the console's language.", s.pageLanguage)),
		page(need(access.PermSelf, "GET", "/settings", "Your settings.", s.pageSettings)),
		page(need(access.PermSelf, "POST", "/settings", "Change your settings or password.", s.pageSettingsPost)),
		page(need(access.PermTenantRead, "GET", "/admin/tenants", "Tenants.", s.pageTenants)),
		page(need(access.PermTenantWrite, "POST", "/admin/tenants", "Create a tenant.", s.pageCreateTenant)),
		page(need(access.PermTenantRead, "GET", "/admin/tenants/{id}", "A tenant.", s.pageTenant)),
		page(need(access.PermTenantWrite, "POST", "/admin/tenants/{id}", "Change a tenant.", s.pageUpdateTenant)),
		page(need(access.PermUserRead, "GET", "/admin/users", "Users.", s.pageUsers)),
		page(need(access.PermUserWrite, "POST", "/admin/users", "Create a user.", s.pageCreateUser)),
		page(need(access.PermUserWrite, "POST", "/admin/users/{id}", "Disable, enable or reset the password of a user.", s.pageUserAction)),
		page(need(access.PermTokenRead, "GET", "/admin/tokens", "API tokens.", s.pageTokens)),
		page(need(access.PermTokenWrite, "POST", "/admin/tokens", "Create an API token; its secret is shown once.", s.pageCreateToken)),
		page(need(access.PermTokenWrite, "POST", "/admin/tokens/{id}/revoke", "Revoke an API token.", s.pageRevokeToken)),
		page(need(access.PermAuditRead, "GET", "/admin/audit", "The audit log.", s.pageAudit)),
	}
}

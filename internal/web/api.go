package web

import (
	"net/http"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// meBody describes the caller.
type meBody struct {
	Kind     string     `json:"kind"`
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Role     tansa.Role `json:"role"`
	TenantID string     `json:"tenant_id,omitempty"`
	Tenants  []string   `json:"tenants,omitempty"`
	Current  string     `json:"current_tenant,omitempty"`
	Language string     `json:"language,omitempty"`
	TimeZone string     `json:"time_zone,omitempty"`
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r)
	writeJSON(w, http.StatusOK, meBody{Kind: p.Kind, ID: p.ID, Name: p.Name, Role: p.Role, TenantID: p.TenantID,
		Tenants: p.Tenants, Current: p.Current, Language: p.Language, TimeZone: p.TimeZone})
}

func (s *Server) apiUpdateMe(w http.ResponseWriter, r *http.Request) {
	var in access.PrefsInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.deps.Access.UpdateSelf(r.Context(), caller(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

type passwordBody struct {
	Current  string `json:"current"`
	Password string `json:"password"`
}

func (s *Server) apiChangeMyPassword(w http.ResponseWriter, r *http.Request) {
	var in passwordBody
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.deps.Access.ChangeOwnPassword(r.Context(), caller(r), in.Current, in.Password); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- tenants

func (s *Server) apiTenants(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, total, err := s.deps.Access.Tenants(r.Context(), caller(r), access.TenantQuery{Text: r.URL.Query().Get("q"), Page: p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, total, p)
}

func (s *Server) apiCreateTenant(w http.ResponseWriter, r *http.Request) {
	var in access.TenantInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.deps.Access.CreateTenant(r.Context(), caller(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tenants/"+t.ID)
	writeJSON(w, http.StatusCreated, t)
}

func (s *Server) apiTenant(w http.ResponseWriter, r *http.Request) {
	t, err := s.deps.Access.Tenant(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) apiUpdateTenant(w http.ResponseWriter, r *http.Request) {
	var in access.TenantInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.deps.Access.UpdateTenant(r.Context(), caller(r), r.PathValue("id"), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// ---- users

func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	items, total, err := s.deps.Access.Users(r.Context(), caller(r), access.UserQuery{Scope: askedScope(r), Text: q.Get("q"), Role: tansa.Role(q.Get("role")), Page: p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, total, p)
}

func (s *Server) apiCreateUser(w http.ResponseWriter, r *http.Request) {
	var in access.UserInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.deps.Access.CreateUser(r.Context(), caller(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+u.ID)
	writeJSON(w, http.StatusCreated, u)
}

func (s *Server) apiUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.deps.Access.User(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) apiUpdateUser(w http.ResponseWriter, r *http.Request) {
	var in access.UserInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.deps.Access.UpdateUser(r.Context(), caller(r), r.PathValue("id"), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

type resetBody struct {
	Password string `json:"password"` // empty: a random one is made and returned
}

func (s *Server) apiResetPassword(w http.ResponseWriter, r *http.Request) {
	var in resetBody
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	pw, err := s.deps.Access.ResetPassword(r.Context(), caller(r), r.PathValue("id"), in.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Password != "" {
		pw = "" // echo only a password the server made
	}
	writeJSON(w, http.StatusOK, resetBody{Password: pw})
}

// ---- tokens

type newTokenBody struct {
	tansa.Token
	Secret string `json:"secret"`
}

func (s *Server) apiTokens(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, total, err := s.deps.Access.Tokens(r.Context(), caller(r), access.TokenQuery{Scope: askedScope(r), Page: p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, total, p)
}

func (s *Server) apiCreateToken(w http.ResponseWriter, r *http.Request) {
	var in access.TokenInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, secret, err := s.deps.Access.CreateToken(r.Context(), caller(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tokens/"+t.ID)
	writeJSON(w, http.StatusCreated, newTokenBody{Token: t, Secret: secret})
}

func (s *Server) apiToken(w http.ResponseWriter, r *http.Request) {
	t, err := s.deps.Access.Token(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) apiRevokeToken(w http.ResponseWriter, r *http.Request) {
	t, err := s.deps.Access.RevokeToken(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// ---- audit

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request) {
	q, err := auditQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, total, err := s.deps.Access.Audit(r.Context(), caller(r), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, total, q.Page)
}

// auditQuery reads the audit filters shared by the API and the console.
func auditQuery(r *http.Request) (access.AuditQuery, error) {
	p, err := paging(r)
	if err != nil {
		return access.AuditQuery{}, err
	}
	v := r.URL.Query()
	q := access.AuditQuery{Scope: askedScope(r), Action: v.Get("action"), Actor: v.Get("actor"), ObjectID: v.Get("object"), Page: p}
	if q.Since, q.Until, err = timeRange(v); err != nil {
		return q, err
	}
	return q, nil
}

package web

import (
	"errors"
	"io"
	"net/http"

	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// apiRulesImport imports the request body — a .zip or .tar.gz archive of
// rule files (a SigmaHQ release) or one YAML rule file — as the next
// version of the set ?set= names, in ?tenant= (or the caller's; global for
// a provider working across tenants). ?source= is kept as provenance and
// ?name= names a single file.
func (s *Server) apiRulesImport(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > ruleset.MaxInput {
		s.writeError(w, r, tansa.Errorf(tansa.TooLarge, "request body: %d bytes exceeds the %d-byte rules limit", r.ContentLength, ruleset.MaxInput))
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, ruleset.MaxInput))
	if err != nil {
		var max *http.MaxBytesError
		if errors.As(err, &max) {
			s.writeError(w, r, tansa.Errorf(tansa.TooLarge, "request body: larger than the %d-byte rules limit", max.Limit))
			return
		}
		s.writeError(w, r, tansa.Errorf(tansa.Invalid, "request body: %v", err))
		return
	}
	q := r.URL.Query()
	v, err := s.deps.Rules.Import(r.Context(), caller(r), data, ruleset.ImportInput{TenantID: q.Get("tenant"), Set: q.Get("set"),
		Source: q.Get("source"), Name: q.Get("name")})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiRules(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := r.URL.Query()
	items, total, err := s.deps.Rules.Rules(r.Context(), caller(r), ruleset.RuleQuery{Tenant: v.Get("tenant"), Text: v.Get("q"),
		Level: v.Get("level"), Status: v.Get("status"), Page: p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, total, p)
}

func (s *Server) apiRuleVersions(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, total, err := s.deps.Rules.Versions(r.Context(), caller(r), ruleset.VersionQuery{Scope: askedScope(r), Set: r.URL.Query().Get("set"), Page: p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, total, p)
}

func (s *Server) apiRuleVersion(w http.ResponseWriter, r *http.Request) {
	v, err := s.deps.Rules.Version(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiActivateRuleVersion(w http.ResponseWriter, r *http.Request) {
	v, err := s.deps.Rules.Activate(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiRuleSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.deps.Rules.Settings(r.Context(), caller(r), r.URL.Query().Get("tenant"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) apiPutRuleSettings(w http.ResponseWriter, r *http.Request) {
	var in ruleset.Settings
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if t := r.URL.Query().Get("tenant"); t != "" && in.TenantID == "" {
		in.TenantID = t
	}
	st, err := s.deps.Rules.PutSettings(r.Context(), caller(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// switchInput turns rules on or off for a tenant.
type switchInput struct {
	TenantID string   `json:"tenant_id"`
	RuleIDs  []string `json:"rule_ids"`
	Enabled  bool     `json:"enabled"`
}

func (s *Server) apiSwitchRules(w http.ResponseWriter, r *http.Request) {
	var in switchInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.deps.Rules.Switch(r.Context(), caller(r), in.TenantID, in.RuleIDs, in.Enabled)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

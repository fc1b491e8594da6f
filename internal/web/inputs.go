package web

import (
	"net/http"
)

// The inputs write into the tenant of the ingest token that authenticated
// the request; a request cannot name another tenant.

func (s *Server) hecEvent(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r)
	s.deps.Inputs.HECEvent(w, r, p.TenantID)
}

func (s *Server) hecRaw(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r)
	s.deps.Inputs.HECRaw(w, r, p.TenantID)
}

func (s *Server) esBulk(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r)
	s.deps.Inputs.ESBulk(w, r, p.TenantID, r.PathValue("index"))
}

package web

import (
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/tansa-sec/tansa/internal/intel/feeds"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// feedBody is a configured feed source as the API shows it; its secret
// never leaves the server, only whether one is set.
type feedBody struct {
	ID         string          `json:"id"`
	TenantID   string          `json:"tenant_id"`
	Name       string          `json:"name"`
	Kind       feeds.Kind      `json:"kind"`
	Source     string          `json:"source"`
	Format     importer.Format `json:"format,omitempty"`
	HasSecret  bool            `json:"has_secret"`
	Interval   string          `json:"interval"`
	Enabled    bool            `json:"enabled"`
	Restricted bool            `json:"restricted"`
	LastPull   time.Time       `json:"last_pull,omitzero"`
	LastStatus string          `json:"last_status,omitempty"`
	LastError  string          `json:"last_error,omitempty"`
	LastResult *feeds.Summary  `json:"last_result,omitempty"`
	NextPull   time.Time       `json:"next_pull,omitzero"`
	Created    time.Time       `json:"created"`
	Updated    time.Time       `json:"updated"`
}

func toFeedBody(f feeds.Feed) feedBody {
	return feedBody{ID: f.ID, TenantID: f.TenantID, Name: f.Name, Kind: f.Kind, Source: f.Source, Format: f.Format,
		HasSecret: f.Secret != "", Interval: f.Interval.String(), Enabled: f.Enabled, Restricted: f.Restricted,
		LastPull: f.LastPull, LastStatus: f.LastStatus, LastError: f.LastError, LastResult: f.LastResult, NextPull: f.NextPull,
		Created: f.Created, Updated: f.Updated}
}

// feedInput reads a feed configuration from the request body.
func feedInput(w http.ResponseWriter, r *http.Request) (feeds.Input, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return feeds.Input{}, tansa.Errorf(tansa.Invalid, "content type %q: send application/json", ct)
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return feeds.Input{}, tansa.Errorf(tansa.TooLarge, "request body: larger than %d bytes", maxBody)
	}
	return feeds.DecodeInput(b)
}

func (s *Server) apiIntelSources(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	fs, total, err := s.deps.Feeds.Feeds(r.Context(), caller(r), r.URL.Query().Get("tenant"), feeds.Query{Page: p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items := make([]feedBody, len(fs))
	for i, f := range fs {
		items[i] = toFeedBody(f)
	}
	writeList(w, items, total, p)
}

func (s *Server) apiIntelCreateSource(w http.ResponseWriter, r *http.Request) {
	in, err := feedInput(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.deps.Feeds.Create(r.Context(), caller(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toFeedBody(f))
}

func (s *Server) apiIntelSource(w http.ResponseWriter, r *http.Request) {
	f, err := s.deps.Feeds.Feed(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toFeedBody(f))
}

func (s *Server) apiIntelUpdateSource(w http.ResponseWriter, r *http.Request) {
	in, err := feedInput(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.deps.Feeds.Update(r.Context(), caller(r), r.PathValue("id"), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toFeedBody(f))
}

func (s *Server) apiIntelDeleteSource(w http.ResponseWriter, r *http.Request) {
	if err := s.deps.Feeds.Delete(r.Context(), caller(r), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiIntelPullSource(w http.ResponseWriter, r *http.Request) {
	f, err := s.deps.Feeds.PullNow(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toFeedBody(f))
}

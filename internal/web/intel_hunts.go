package web

import (
	"net/http"
	"time"

	"github.com/tansa-sec/tansa/internal/intel/retro"
)

// huntBody is a retro-hunt as the API shows it.
type huntBody struct {
	ID         string    `json:"id"`
	TenantID   string    `json:"tenant_id"`
	Origin     string    `json:"origin"`
	Ref        string    `json:"ref,omitempty"`
	Actor      string    `json:"actor,omitempty"`
	Days       int       `json:"days"`
	Status     string    `json:"status"`
	Total      int       `json:"total"`
	Done       int       `json:"done"`
	Hits       int       `json:"hits"`
	Error      string    `json:"error,omitempty"`
	Created    time.Time `json:"created"`
	Started    time.Time `json:"started,omitzero"`
	Finished   time.Time `json:"finished,omitzero"`
	Indicators []string  `json:"indicators,omitempty"`
	Results    []hitBody `json:"results,omitempty"`
}

type hitBody struct {
	HuntID      string    `json:"hunt_id"`
	IndicatorID string    `json:"indicator_id"`
	Value       string    `json:"value"`
	Source      string    `json:"source"`
	Ref         string    `json:"ref"`
	Time        time.Time `json:"time"`
}

func toHuntBody(j retro.Job) huntBody {
	return huntBody{ID: j.ID, TenantID: j.TenantID, Origin: string(j.Origin), Ref: j.Ref, Actor: j.Actor, Days: j.Days,
		Status: string(j.Status), Total: j.Total, Done: j.Done, Hits: j.Hits, Error: j.Error, Created: j.Created,
		Started: j.Started, Finished: j.Finished}
}

func toHitBodies(hs []retro.Hit) []hitBody {
	out := make([]hitBody, len(hs))
	for i, h := range hs {
		out[i] = hitBody(h)
	}
	return out
}

func (s *Server) apiIntelHunts(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	js, total, err := s.deps.Hunts.Hunts(r.Context(), caller(r), q.Get("tenant"), retro.Query{IndicatorID: q.Get("indicator"), Page: p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items := make([]huntBody, len(js))
	for i, j := range js {
		items[i] = toHuntBody(j)
	}
	writeList(w, items, total, p)
}

// apiIntelHunt answers one hunt with a page of its results (?limit,
// ?offset) and, in total_results, how many it stored.
func (s *Server) apiIntelHunt(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	j, err := s.deps.Hunts.Hunt(r.Context(), caller(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	hs, n, err := s.deps.Hunts.Hits(r.Context(), caller(r), id, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b := toHuntBody(j)
	b.Indicators = j.Indicators
	b.Results = toHitBodies(hs)
	writeJSON(w, http.StatusOK, struct {
		huntBody
		TotalResults int `json:"total_results"`
	}{b, n})
}

// apiIntelHuntIndicator starts a hunt for one indicator now.
func (s *Server) apiIntelHuntIndicator(w http.ResponseWriter, r *http.Request) {
	js, err := s.deps.Hunts.HuntIndicator(r.Context(), caller(r), r.PathValue("id"), r.URL.Query().Get("tenant"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items := make([]huntBody, len(js))
	for i, j := range js {
		items[i] = toHuntBody(j)
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"hunts": items})
}

// apiIntelIndicatorHits lists the stored events and sweep results hunts
// found for an indicator.
func (s *Server) apiIntelIndicatorHits(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	hs, total, err := s.deps.Hunts.IndicatorHits(r.Context(), caller(r), r.PathValue("id"), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, toHitBodies(hs), total, p)
}

type intelSettingsBody struct {
	TenantID      string `json:"tenant_id"`
	RetroHuntDays int    `json:"retro_hunt_days"`
}

func (s *Server) apiIntelSettings(w http.ResponseWriter, r *http.Request) {
	t, d, err := s.deps.Hunts.RetroDays(r.Context(), caller(r), r.URL.Query().Get("tenant"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, intelSettingsBody{TenantID: t, RetroHuntDays: d})
}

func (s *Server) apiIntelUpdateSettings(w http.ResponseWriter, r *http.Request) {
	var in struct {
		RetroHuntDays int `json:"retro_hunt_days"`
	}
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.deps.Hunts.SetRetroDays(r.Context(), caller(r), r.URL.Query().Get("tenant"), in.RetroHuntDays)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, intelSettingsBody{TenantID: t, RetroHuntDays: in.RetroHuntDays})
}

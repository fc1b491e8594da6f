package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// alertQuery reads an alert list's filters from the query string: status
// (comma-separated), level, min_level, kind, rule, host, user, assignee
// ("-" for unassigned), q, since and until (RFC 3339), sort, tenant, limit
// and offset.
func alertQuery(r *http.Request) (alert.Query, error) {
	p, err := paging(r)
	if err != nil {
		return alert.Query{}, err
	}
	v := r.URL.Query()
	q := alert.Query{Scope: askedScope(r), Level: v.Get("level"), MinLevel: v.Get("min_level"), Kind: tansa.AlertKind(v.Get("kind")),
		RuleID: v.Get("rule"), Host: v.Get("host"), User: v.Get("user"), Assignee: v.Get("assignee"), Text: v.Get("q"),
		Sort: alert.Sort(v.Get("sort")), Page: p}
	for _, st := range strings.Split(v.Get("status"), ",") {
		if st = strings.TrimSpace(st); st != "" {
			q.Status = append(q.Status, tansa.AlertStatus(st))
		}
	}
	if q.Since, q.Until, err = timeRange(v); err != nil {
		return q, err
	}
	return q, nil
}

func completeAlert(a *tansa.Alert) {
	if a.Tags == nil {
		a.Tags = []string{}
	}
	if a.EventIDs == nil {
		a.EventIDs = []string{}
	}
}

func (s *Server) apiAlerts(w http.ResponseWriter, r *http.Request) {
	q, err := alertQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, total, err := s.deps.Alerts.List(r.Context(), caller(r), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for i := range items {
		completeAlert(&items[i])
	}
	writeList(w, items, total, q.Page)
}

func (s *Server) apiAlert(w http.ResponseWriter, r *http.Request) {
	a, err := s.deps.Alerts.Get(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	completeAlert(&a)
	writeJSON(w, http.StatusOK, a)
}

// apiAlertsTriage applies one triage action to many alerts at once.
func (s *Server) apiAlertsTriage(w http.ResponseWriter, r *http.Request) {
	var in alert.TriageInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.deps.Alerts.Triage(r.Context(), caller(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for i := range out {
		completeAlert(&out[i])
	}
	writeList(w, out, len(out), access.Page{Limit: len(out)})
}

// apiAlertsStream sends every new or changed alert the caller may see as a
// server-sent event ("event: alert", the alert as JSON), with a comment
// every 20 seconds to keep proxies from closing the connection. ?tenant=
// narrows the stream to one tenant; ?timeout= (a Go duration, at most one
// hour) ends it, for scripts.
func (s *Server) apiAlertsStream(w http.ResponseWriter, r *http.Request) {
	c := caller(r)
	tenant := r.URL.Query().Get("tenant")
	var end <-chan time.Time
	if v := r.URL.Query().Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Hour {
			s.writeError(w, r, tansa.Errorf(tansa.Invalid, "timeout: %q must be a duration such as 30s, at most 1h", v))
			return
		}
		t := time.NewTimer(d)
		defer t.Stop()
		end = t.C
	}
	ch, cancel := s.deps.Alerts.Subscribe(256)
	defer cancel()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // the stream outlives the server's write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 3000\n: connected\n\n"); err != nil {
		return
	}
	_ = rc.Flush()
	ping := time.NewTicker(20 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-end:
			return
		case <-s.closing:
			return
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
		case ch := <-ch:
			a := ch.Alert
			if !alert.Visible(c, a) || (tenant != "" && a.TenantID != tenant) {
				continue
			}
			completeAlert(&a)
			b, err := json.Marshal(struct {
				New bool `json:"new"`
				tansa.Alert
			}{ch.New, a})
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "event: alert\nid: %s\ndata: %s\n\n", a.ID, b); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// ---- exceptions

func (s *Server) apiExceptions(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, total, err := s.deps.Alerts.Exceptions(r.Context(), caller(r), alert.ExceptionQuery{Scope: askedScope(r), RuleID: r.URL.Query().Get("rule"), Page: p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, total, p)
}

func (s *Server) apiCreateException(w http.ResponseWriter, r *http.Request) {
	var in alert.ExceptionInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.deps.Alerts.CreateException(r.Context(), caller(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, e)
}

func (s *Server) apiException(w http.ResponseWriter, r *http.Request) {
	e, err := s.deps.Alerts.Exception(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) apiUpdateException(w http.ResponseWriter, r *http.Request) {
	var in alert.ExceptionInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.deps.Alerts.UpdateException(r.Context(), caller(r), r.PathValue("id"), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) apiDeleteException(w http.ResponseWriter, r *http.Request) {
	e, err := s.deps.Alerts.DeleteException(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// The API of internal/cases: cases, their tasks, notes, observables,
// evidence and timeline, the templates, SLA targets, response metrics and
// the issue-tracking view. Handlers parse and render; the cases service
// decides who may do what.

// caseBody is a case as the API shows it, with its timers as of now.
type caseBody struct {
	cases.Case
	Timers   []timerBody `json:"timers"`
	Breached bool        `json:"breached"`
}

// timerBody is a timer with durations in seconds.
type timerBody struct {
	Name     string    `json:"name"`
	Due      time.Time `json:"due,omitzero"`
	Stopped  time.Time `json:"stopped,omitzero"`
	Elapsed  int64     `json:"elapsed_seconds"`
	Breached bool      `json:"breached"`
}

func toCaseBody(c cases.Case, now time.Time) caseBody {
	b := caseBody{Case: c, Breached: c.Breached(now)}
	if b.AlertIDs == nil {
		b.AlertIDs = []string{}
	}
	for _, t := range c.Timers(now) {
		b.Timers = append(b.Timers, timerBody{Name: t.Name, Due: t.Due, Stopped: t.Stopped, Elapsed: int64(t.Elapsed / time.Second), Breached: t.Breached})
	}
	return b
}

// alertSummary is what a case shows of a linked alert.
type alertSummary struct {
	ID        string            `json:"id"`
	Kind      tansa.AlertKind   `json:"kind"`
	RuleTitle string            `json:"rule_title"`
	Level     string            `json:"level"`
	Host      string            `json:"host,omitempty"`
	User      string            `json:"user,omitempty"`
	Count     int               `json:"count"`
	LastSeen  time.Time         `json:"last_seen"`
	Status    tansa.AlertStatus `json:"status"`
}

// caseDetail is one case with everything attached to it.
type caseDetail struct {
	caseBody
	// Alerts are the linked alerts' details, when this server can look
	// them up; otherwise null and only alert_ids are known.
	Alerts      []alertSummary         `json:"alerts"`
	Tasks       []cases.Task           `json:"tasks"`
	Notes       []cases.Note           `json:"notes"`
	Observables []cases.ObservableView `json:"observables"`
	Evidence    []cases.Evidence       `json:"evidence"`
}

// caseDetailOf gathers case id with its parts for c.
func (s *Server) caseDetailOf(r *http.Request, id string) (caseDetail, error) {
	ctx, c, svc := r.Context(), caller(r), s.deps.Cases
	cs, err := svc.Case(ctx, c, id)
	if err != nil {
		return caseDetail{}, err
	}
	d := caseDetail{caseBody: toCaseBody(cs, time.Now())}
	if d.Tasks, err = svc.Tasks(ctx, c, id); err != nil {
		return d, err
	}
	if d.Notes, err = svc.Notes(ctx, c, id); err != nil {
		return d, err
	}
	if d.Observables, err = svc.Observables(ctx, c, id); err != nil {
		return d, err
	}
	if d.Evidence, err = svc.EvidenceList(ctx, c, id); err != nil {
		return d, err
	}
	if svc.CanLookUpAlerts() {
		as, err := svc.AlertsOf(ctx, c, cs)
		if err != nil {
			return d, err
		}
		d.Alerts = []alertSummary{}
		for _, a := range as {
			d.Alerts = append(d.Alerts, alertSummary{ID: a.ID, Kind: a.Kind, RuleTitle: a.RuleTitle, Level: a.Level, Host: a.Host,
				User: a.User, Count: a.Count, LastSeen: a.LastSeen, Status: a.Status})
		}
	}
	return d, nil
}

// caseQuery reads the case list's filters, shared by the API and the
// console.
func caseQuery(r *http.Request, p access.Page) (cases.Query, error) {
	v := r.URL.Query()
	q := cases.Query{Scope: askedScope(r), Phase: cases.Phase(v.Get("phase")), State: v.Get("state"), Severity: v.Get("severity"),
		Assignee: v.Get("assignee"), Type: v.Get("type"), Text: v.Get("q"), AlertID: v.Get("alert"), Sort: v.Get("sort"), Page: p}
	switch v.Get("breached") {
	case "", "false", "0":
	case "true", "1":
		q.BreachedAt = time.Now()
	default:
		return q, tansa.Errorf(tansa.Invalid, "breached: %q must be true or false", v.Get("breached"))
	}
	if len(q.Text) > 200 {
		return q, tansa.Errorf(tansa.Invalid, "q: longer than 200 characters")
	}
	return q, nil
}

func (s *Server) apiCases(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := caseQuery(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cs, total, err := s.deps.Cases.Cases(r.Context(), caller(r), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := time.Now()
	items := make([]caseBody, len(cs))
	for i, c := range cs {
		items[i] = toCaseBody(c, now)
	}
	writeList(w, items, total, p)
}

func (s *Server) apiCreateCase(w http.ResponseWriter, r *http.Request) {
	var in cases.CaseInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.deps.Cases.Create(r.Context(), caller(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/cases/"+c.ID)
	writeJSON(w, http.StatusCreated, toCaseBody(c, time.Now()))
}

func (s *Server) apiCase(w http.ResponseWriter, r *http.Request) {
	d, err := s.caseDetailOf(r, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) apiUpdateCase(w http.ResponseWriter, r *http.Request) {
	var in cases.UpdateInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.deps.Cases.Update(r.Context(), caller(r), r.PathValue("id"), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toCaseBody(c, time.Now()))
}

type alertIDsBody struct {
	AlertIDs []string `json:"alert_ids"`
}

func (s *Server) apiLinkAlerts(w http.ResponseWriter, r *http.Request) {
	var in alertIDsBody
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.deps.Cases.LinkAlerts(r.Context(), caller(r), r.PathValue("id"), in.AlertIDs)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toCaseBody(c, time.Now()))
}

func (s *Server) apiAddTask(w http.ResponseWriter, r *http.Request) {
	var in cases.TaskInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.deps.Cases.AddTask(r.Context(), caller(r), r.PathValue("id"), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, t)
}

func (s *Server) apiUpdateTask(w http.ResponseWriter, r *http.Request) {
	var in cases.TaskInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.deps.Cases.UpdateTask(r.Context(), caller(r), r.PathValue("id"), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

type noteBody struct {
	Body string `json:"body"`
}

func (s *Server) apiAddNote(w http.ResponseWriter, r *http.Request) {
	var in noteBody
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.deps.Cases.AddNote(r.Context(), caller(r), r.PathValue("id"), in.Body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, n)
}

type observablesBody struct {
	Observables []cases.ObservableInput `json:"observables"`
}

func (s *Server) apiAddObservables(w http.ResponseWriter, r *http.Request) {
	var in observablesBody
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	obs, err := s.deps.Cases.AddObservables(r.Context(), caller(r), r.PathValue("id"), in.Observables)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, obs, len(obs), access.Page{Limit: len(obs)})
}

func (s *Server) apiRetroHunt(w http.ResponseWriter, r *http.Request) {
	res, err := s.deps.Cases.RetroHunt(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// readEvidence reads an upload body up to the service's limit.
func (s *Server) readEvidence(w http.ResponseWriter, r *http.Request, body io.Reader) ([]byte, error) {
	max := s.deps.Cases.Options().MaxEvidence
	if r.ContentLength > max {
		return nil, tansa.Errorf(tansa.TooLarge, "evidence: %d bytes exceed the %d-byte limit", r.ContentLength, max)
	}
	data, err := io.ReadAll(io.LimitReader(body, max+1))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, tansa.Errorf(tansa.TooLarge, "evidence: larger than the %d-byte limit", max)
		}
		return nil, tansa.Errorf(tansa.Invalid, "evidence: the upload could not be read")
	}
	if int64(len(data)) > max {
		return nil, tansa.Errorf(tansa.TooLarge, "evidence: larger than the %d-byte limit", max)
	}
	return data, nil
}

// apiAddEvidence stores the request body as an evidence file named by
// ?name=; the body's Content-Type is recorded as declared.
func (s *Server) apiAddEvidence(w http.ResponseWriter, r *http.Request) {
	data, err := s.readEvidence(w, r, http.MaxBytesReader(w, r.Body, s.deps.Cases.Options().MaxEvidence+1))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	ev, err := s.deps.Cases.AddEvidence(r.Context(), caller(r), r.PathValue("id"),
		cases.EvidenceInput{Name: q.Get("name"), ContentType: r.Header.Get("Content-Type"), Description: q.Get("description")}, data)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/case-evidence/"+ev.ID)
	writeJSON(w, http.StatusCreated, ev)
}

type evidenceCustody struct {
	cases.Evidence
	Custody []cases.Entry `json:"custody"`
}

func (s *Server) apiEvidence(w http.ResponseWriter, r *http.Request) {
	ev, custody, err := s.deps.Cases.Custody(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, evidenceCustody{Evidence: ev, Custody: custody})
}

// apiEvidenceContent hands an evidence file over as a download, never as
// something the browser would render: octet-stream, attachment, sandboxed.
// The download is in the chain of custody before the first byte leaves.
func (s *Server) apiEvidenceContent(w http.ResponseWriter, r *http.Request) {
	ev, data, err := s.deps.Cases.Download(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": ev.Name}))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("X-Evidence-SHA256", ev.SHA256)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

func (s *Server) apiCaseTimeline(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	es, total, err := s.deps.Cases.Timeline(r.Context(), caller(r), r.PathValue("id"), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, es, total, p)
}

// ---- templates, SLA, metrics

func (s *Server) apiCaseTemplates(w http.ResponseWriter, r *http.Request) {
	ts, err := s.deps.Cases.Templates(r.Context(), caller(r), r.URL.Query().Get("tenant"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, ts, len(ts), access.Page{Limit: len(ts)})
}

// apiPutCaseTemplate stores the body, a template in YAML or JSON, as the
// tenant's version of its type.
func (s *Server) apiPutCaseTemplate(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > cases.MaxTemplateBytes {
		s.writeError(w, r, tansa.Errorf(tansa.TooLarge, "template: %d bytes exceed the %d-byte limit", r.ContentLength, cases.MaxTemplateBytes))
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, cases.MaxTemplateBytes))
	if err != nil {
		s.writeError(w, r, tansa.Errorf(tansa.TooLarge, "template: larger than the %d-byte limit", cases.MaxTemplateBytes))
		return
	}
	t, err := s.deps.Cases.PutTemplate(r.Context(), caller(r), r.URL.Query().Get("tenant"), data)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) apiDeleteCaseTemplate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := s.deps.Cases.DeleteTemplate(r.Context(), caller(r), q.Get("tenant"), q.Get("type")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// slaTargetBody is an SLA target in whole minutes.
type slaTargetBody struct {
	Severity           string `json:"severity"`
	AcknowledgeMinutes int64  `json:"acknowledge_minutes"`
	ContainMinutes     int64  `json:"contain_minutes"`
	CloseMinutes       int64  `json:"close_minutes"`
}

type slaBody struct {
	TenantID string          `json:"tenant_id"`
	Targets  []slaTargetBody `json:"targets"`
}

func toSLABody(tenant string, ts []cases.SLATarget) slaBody {
	b := slaBody{TenantID: tenant, Targets: []slaTargetBody{}}
	for _, t := range ts {
		b.Targets = append(b.Targets, slaTargetBody{Severity: t.Severity, AcknowledgeMinutes: int64(t.Acknowledge / time.Minute),
			ContainMinutes: int64(t.Contain / time.Minute), CloseMinutes: int64(t.Close / time.Minute)})
	}
	return b
}

func (s *Server) apiCaseSLA(w http.ResponseWriter, r *http.Request) {
	tenant := r.URL.Query().Get("tenant")
	ts, err := s.deps.Cases.SLA(r.Context(), caller(r), tenant)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toSLABody(tenant, ts))
}

func (s *Server) apiPutCaseSLA(w http.ResponseWriter, r *http.Request) {
	var in slaBody
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	var ts []cases.SLATarget
	for i, t := range in.Targets {
		for name, m := range map[string]int64{"acknowledge_minutes": t.AcknowledgeMinutes, "contain_minutes": t.ContainMinutes, "close_minutes": t.CloseMinutes} {
			if m < 0 || m > 366*24*60 {
				s.writeError(w, r, tansa.Errorf(tansa.Invalid, "targets[%d].%s: must be from 0 (no target) to 365 days", i, name))
				return
			}
		}
		ts = append(ts, cases.SLATarget{Severity: t.Severity, Acknowledge: time.Duration(t.AcknowledgeMinutes) * time.Minute,
			Contain: time.Duration(t.ContainMinutes) * time.Minute, Close: time.Duration(t.CloseMinutes) * time.Minute})
	}
	out, err := s.deps.Cases.SetSLA(r.Context(), caller(r), in.TenantID, ts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toSLABody(in.TenantID, out))
}

// metricsBody is Metrics with durations in seconds.
type metricsBody struct {
	TenantID     string    `json:"tenant_id"`
	Since        time.Time `json:"since"`
	Until        time.Time `json:"until"`
	Cases        int       `json:"cases"`
	Acknowledged int       `json:"acknowledged"`
	MTTA         int64     `json:"mtta_seconds"`
	Contained    int       `json:"contained"`
	MTTC         int64     `json:"mttc_seconds"`
	Closed       int       `json:"closed"`
	MTTR         int64     `json:"mttr_seconds"`
	Breached     int       `json:"breached"`
}

func (s *Server) apiCaseMetrics(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	since, until, err := timeRange(v)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.deps.Cases.Metrics(r.Context(), caller(r), v.Get("tenant"), since, until)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, metricsBody{TenantID: m.TenantID, Since: m.Since, Until: m.Until, Cases: m.Cases, Acknowledged: m.Acknowledged,
		MTTA: int64(m.MTTA / time.Second), Contained: m.Contained, MTTC: int64(m.MTTC / time.Second), Closed: m.Closed,
		MTTR: int64(m.MTTR / time.Second), Breached: m.Breached})
}

// ---- tracker

// trackerQuery reads the tracker's filters, shared by the API and the
// console.
func trackerQuery(r *http.Request, p access.Page) (cases.TrackerQuery, error) {
	v := r.URL.Query()
	q := cases.TrackerQuery{Scope: askedScope(r), Kind: v.Get("kind"), Owner: v.Get("owner"), Status: v.Get("status"),
		Severity: v.Get("severity"), Text: v.Get("q"), Page: p}
	switch v.Get("overdue") {
	case "", "false", "0":
	case "true", "1":
		q.OverdueAt = time.Now()
	default:
		return q, tansa.Errorf(tansa.Invalid, "overdue: %q must be true or false", v.Get("overdue"))
	}
	return q, nil
}

// apiCaseTracker lists the open cases and tasks as JSON, or with
// ?format=csv exports every matching row as CSV for Excel, streamed as the
// store reads them (no limit, no page).
func (s *Server) apiCaseTracker(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		s.writeError(w, r, tansa.Errorf(tansa.Invalid, "format: %q must be json or csv", format))
		return
	}
	if format == "csv" {
		s.exportTracker(w, r)
		return
	}
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := trackerQuery(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rows, total, err := s.deps.Cases.Tracker(r.Context(), caller(r), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, rows, total, p)
}

// exportTracker streams the tracker's CSV. The response starts with the
// first row (or the end of an empty export), so that a refused or invalid
// request still gets its error status; an error after that can only cut
// the download short, and is logged.
func (s *Server) exportTracker(w http.ResponseWriter, r *http.Request) {
	q, err := trackerQuery(r, access.Page{})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := s.newView(r, "tracker.title")
	var tc *cases.TrackerCSV
	start := func() error {
		name := "tansa-tracker-" + time.Now().In(v.Loc).Format("20060102-1504") + ".csv"
		w.Header().Set("Content-Disposition", "attachment; filename="+name+"; filename*=UTF-8''"+url.PathEscape(name))
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		tc, err = cases.NewTrackerCSV(w, v.Lang, v.Loc, v.TenantName)
		return err
	}
	err = s.deps.Cases.ExportTracker(r.Context(), caller(r), q, func(row cases.TrackerRow) error {
		if tc == nil {
			if err := start(); err != nil {
				return err
			}
		}
		return tc.Write(row)
	})
	if err == nil && tc == nil {
		err = start()
	}
	if err == nil {
		err = tc.Flush()
	}
	if err != nil {
		if tc == nil {
			s.writeError(w, r, err)
			return
		}
		s.deps.Logger.Error("tracker export cut short", "err", err)
	}
}

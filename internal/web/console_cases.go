package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// The console's incident response pages: the case list, the case with its
// tabs, the templates and the issue-tracking view. Forms post to the cases
// service with the viewer as caller and come back with a flash message.

// Duration shows sec seconds in whole days, hours and minutes ("2d 3h",
// "45m").
func (v *view) Duration(sec int64) string {
	d := (time.Duration(sec) * time.Second).Truncate(time.Minute)
	days, h, m := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	}
	return fmt.Sprintf("%dm", m)
}

// casesPage is the case list.
type casesPage struct {
	Items      []caseBody
	Pager      pager
	Filter     caseFilter
	Phases     []cases.Phase
	Severities []string
	Templates  []cases.Template
	Form       caseForm
	Now        time.Time
}

type caseFilter struct {
	State, Phase, Severity, Assignee, Q, Sort, Tenant string
	Breached                                          bool
}

type caseForm struct {
	TenantID, Title, Description, Severity, Type, AlertIDs string
}

func (s *Server) pageCases(w http.ResponseWriter, r *http.Request) {
	s.renderCases(w, r, http.StatusOK, caseForm{}, "")
}

func (s *Server) renderCases(w http.ResponseWriter, r *http.Request, status int, form caseForm, errMsg string) {
	p, err := consolePaging(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := r.URL.Query()
	if !v.Has("state") && r.Method == http.MethodGet {
		// The list opens on what needs work.
		v.Set("state", "open")
		r.URL.RawQuery = v.Encode()
	}
	q, err := caseQuery(r, p)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	c := caller(r)
	items, total, err := s.deps.Cases.Cases(r.Context(), c, q)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	view := s.newView(r, "cases.title")
	view.Error = errMsg
	now := time.Now()
	data := casesPage{Pager: newPager(r, p, len(items), total), Phases: cases.Phases, Severities: cases.Severities, Form: form, Now: now,
		Filter: caseFilter{State: v.Get("state"), Phase: v.Get("phase"), Severity: v.Get("severity"), Assignee: v.Get("assignee"),
			Q: v.Get("q"), Sort: v.Get("sort"), Tenant: v.Get("tenant"), Breached: !q.BreachedAt.IsZero()}}
	for _, cs := range items {
		data.Items = append(data.Items, toCaseBody(cs, now))
	}
	// The create form offers the templates of the tenant the viewer works
	// in; one working across tenants sees Tansa's own.
	if ts, err := s.deps.Cases.Templates(r.Context(), c, ""); err == nil {
		data.Templates = ts
	} else if b, err := cases.Builtins(); err == nil {
		data.Templates = b
	}
	view.Data = data
	s.render(w, r, status, "cases", view)
}

func (s *Server) pageCreateCase(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	f := caseForm{TenantID: r.PostFormValue("tenant_id"), Title: r.PostFormValue("title"), Description: r.PostFormValue("description"),
		Severity: r.PostFormValue("severity"), Type: r.PostFormValue("type"), AlertIDs: r.PostFormValue("alert_ids")}
	in := cases.CaseInput{TenantID: f.TenantID, Title: f.Title, Description: f.Description, Severity: f.Severity, Type: f.Type,
		AlertIDs: strings.Fields(strings.ReplaceAll(f.AlertIDs, ",", " "))}
	if r.PostFormValue("assign_me") != "" {
		if p, _ := principalOf(r); p.Kind == "user" {
			in.Assignee = p.ID
		}
	}
	cs, err := s.deps.Cases.Create(r.Context(), caller(r), in)
	if err != nil {
		if formFailure(err) {
			r.URL.RawQuery = ""
			v := s.newView(r, "cases.title")
			s.renderCases(w, r, statusOf(tansa.KindOf(err)), f, v.formError(err))
			return
		}
		s.pageError(w, r, err)
		return
	}
	redirect(w, r, "/cases/"+cs.ID, "flash.case_created")
}

// casePage is one case with the data of its selected tab.
type casePage struct {
	caseDetail
	Tab         string
	Tabs        []string
	Timeline    []cases.Entry
	TimelinePgr pager
	Phases      []cases.Phase
	Resolutions []cases.Resolution
	Severities  []string
	Statuses    []cases.TaskStatus
	People      []tansa.User // who the viewer may assign, when the viewer may list users
	Me          string       // the viewer's user ID, for "assign to me"
	HasAlerts   bool         // linked alerts' details can be looked up
	CanHunt     bool
	CanIntel    bool // observables were checked against intelligence
	Now         time.Time
}

var caseTabs = []string{"summary", "alerts", "tasks", "observables", "evidence", "timeline"}

func (s *Server) pageCase(w http.ResponseWriter, r *http.Request) {
	s.renderCase(w, r, r.PathValue("id"), http.StatusOK, "")
}

func (s *Server) renderCase(w http.ResponseWriter, r *http.Request, id string, status int, errMsg string) {
	d, err := s.caseDetailOf(r, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	tab := r.URL.Query().Get("tab")
	if !slices.Contains(caseTabs, tab) {
		tab = "summary"
	}
	c := caller(r)
	data := casePage{caseDetail: d, Tab: tab, Tabs: caseTabs, Phases: cases.Phases, Resolutions: cases.Resolutions,
		Severities: cases.Severities, Statuses: cases.TaskStatuses, HasAlerts: s.deps.Cases.CanLookUpAlerts(),
		CanHunt: s.deps.Cases.CanRetroHunt(), CanIntel: d.Observables != nil && len(d.Observables) > 0 && d.Observables[0].Known != nil, Now: time.Now()}
	if c.Kind == "user" {
		data.Me = c.ID
	}
	if tab == "timeline" {
		p, err := paging(r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		if r.URL.Query().Get("limit") == "" {
			p.Limit = 100
		}
		es, total, err := s.deps.Cases.Timeline(r.Context(), c, id, p)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		data.Timeline, data.TimelinePgr = es, newPager(r, p, len(es), total)
	}
	if c.Can(access.PermUserRead) && c.Can(access.PermCaseWrite) {
		us, _, err := s.deps.Access.Users(r.Context(), c, access.UserQuery{Scope: access.Scope{Tenants: []string{d.TenantID}, Provider: true}, Page: access.Page{Limit: 200}})
		if err == nil {
			for _, u := range us {
				p := access.Principal{Role: u.Role, TenantID: u.TenantID, Tenants: u.Tenants}
				if !u.Disabled && p.CanAccess(d.TenantID) && p.Can(access.PermCaseWrite) {
					data.People = append(data.People, u)
				}
			}
		}
	}
	v := s.newView(r, "case.title")
	v.Title = d.Title
	v.Error = errMsg
	v.Data = data
	s.render(w, r, status, "case", v)
}

// caseFormDone ends a case form: back to the case's tab with flash, or the
// case page with the error above the forms when the person can fix it.
func (s *Server) caseFormDone(w http.ResponseWriter, r *http.Request, caseID, tab, flash string, err error) {
	if err == nil {
		redirect(w, r, "/cases/"+caseID+"?tab="+tab, flash)
		return
	}
	if formFailure(err) && caseID != "" {
		r.URL.RawQuery = "tab=" + tab
		v := s.newView(r, "case.title")
		s.renderCase(w, r, caseID, statusOf(tansa.KindOf(err)), v.formError(err))
		return
	}
	s.pageError(w, r, err)
}

func (s *Server) pageUpdateCase(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	id := r.PathValue("id")
	f := r.PostForm
	var in cases.UpdateInput
	for name, dst := range map[string]**string{"title": &in.Title, "description": &in.Description, "severity": &in.Severity, "assignee": &in.Assignee} {
		if f.Has(name) {
			*dst = ptr(f.Get(name))
		}
	}
	if f.Get("phase") != "" {
		in.Phase = ptr(cases.Phase(f.Get("phase")))
	}
	if f.Get("resolution") != "" {
		in.Resolution = ptr(cases.Resolution(f.Get("resolution")))
	}
	in.Comment = f.Get("comment")
	_, err := s.deps.Cases.Update(r.Context(), caller(r), id, in)
	s.caseFormDone(w, r, id, "summary", "flash.case_updated", err)
}

func (s *Server) pageAddCaseNote(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	id := r.PathValue("id")
	_, err := s.deps.Cases.AddNote(r.Context(), caller(r), id, r.PostFormValue("body"))
	s.caseFormDone(w, r, id, "summary", "flash.note_added", err)
}

func (s *Server) pageAddCaseTask(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	id := r.PathValue("id")
	in := cases.TaskInput{Title: ptr(r.PostFormValue("title")), Description: ptr(r.PostFormValue("description"))}
	if p := r.PostFormValue("phase"); p != "" {
		in.Phase = ptr(cases.Phase(p))
	}
	if err := formDue(r, &in); err != nil {
		s.caseFormDone(w, r, id, "tasks", "", err)
		return
	}
	_, err := s.deps.Cases.AddTask(r.Context(), caller(r), id, in)
	s.caseFormDone(w, r, id, "tasks", "flash.task_added", err)
}

// formDue reads a task's due date from the console's date field
// (YYYY-MM-DD, end of that day in UTC) when present.
func formDue(r *http.Request, in *cases.TaskInput) error {
	if !r.PostForm.Has("due") {
		return nil
	}
	d := strings.TrimSpace(r.PostFormValue("due"))
	if d == "" {
		in.Due = &time.Time{}
		return nil
	}
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		return tansa.Errorf(tansa.Invalid, "due: %q is not a date such as 2026-04-30", d)
	}
	t = t.Add(24*time.Hour - time.Minute)
	in.Due = &t
	return nil
}

func (s *Server) pageUpdateCaseTask(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	var in cases.TaskInput
	if st := r.PostFormValue("status"); st != "" {
		in.Status = ptr(cases.TaskStatus(st))
	}
	if r.PostForm.Has("owner") {
		in.Owner = ptr(r.PostFormValue("owner"))
	}
	if err := formDue(r, &in); err != nil {
		s.pageError(w, r, err)
		return
	}
	t, err := s.deps.Cases.UpdateTask(r.Context(), caller(r), r.PathValue("id"), in)
	if err != nil && tansa.KindOf(err) == tansa.NotFound {
		s.pageError(w, r, err)
		return
	}
	caseID := t.CaseID
	if err != nil {
		// The task's case is needed to show the error beside its form.
		if ts, e := s.deps.Cases.Task(r.Context(), caller(r), r.PathValue("id")); e == nil {
			caseID = ts.CaseID
		}
	}
	if next := r.PostFormValue("next"); err == nil && next == "tracker" {
		redirect(w, r, "/tracker", "flash.task_updated")
		return
	}
	s.caseFormDone(w, r, caseID, "tasks", "flash.task_updated", err)
}

func (s *Server) pageAddCaseObservables(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	id := r.PathValue("id")
	var ins []cases.ObservableInput
	typ := r.PostFormValue("type")
	for _, line := range strings.Split(r.PostFormValue("values"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			ins = append(ins, cases.ObservableInput{Type: typ, Value: line, Description: r.PostFormValue("description")})
		}
	}
	_, err := s.deps.Cases.AddObservables(r.Context(), caller(r), id, ins)
	s.caseFormDone(w, r, id, "observables", "flash.observables_added", err)
}

func (s *Server) pageRetroHunt(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	res, err := s.deps.Cases.RetroHunt(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	redirect(w, r, "/cases/"+res.CaseID+"?tab=timeline", "flash.retro_hunt_done")
}

// pageAddCaseEvidence takes a multipart upload of one file.
func (s *Server) pageAddCaseEvidence(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	max := s.deps.Cases.Options().MaxEvidence
	r.Body = http.MaxBytesReader(w, r.Body, max+maxForm)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			s.caseFormDone(w, r, id, "evidence", "", tansa.Errorf(tansa.TooLarge, "evidence: larger than the %d-byte limit", max))
			return
		}
		s.caseFormDone(w, r, id, "evidence", "", tansa.Errorf(tansa.Invalid, "evidence: choose a file to upload"))
		return
	}
	defer r.MultipartForm.RemoveAll()
	file, hdr, err := r.FormFile("file")
	if err != nil {
		s.caseFormDone(w, r, id, "evidence", "", tansa.Errorf(tansa.Invalid, "evidence: choose a file to upload"))
		return
	}
	defer file.Close()
	data, err := s.readEvidence(w, r, file)
	if err != nil {
		s.caseFormDone(w, r, id, "evidence", "", err)
		return
	}
	_, err = s.deps.Cases.AddEvidence(r.Context(), caller(r), id,
		cases.EvidenceInput{Name: hdr.Filename, ContentType: hdr.Header.Get("Content-Type"), Description: r.FormValue("description")}, data)
	s.caseFormDone(w, r, id, "evidence", "flash.evidence_uploaded", err)
}

// ---- templates

type templatesPage struct {
	Tenant    string
	Items     []templateRow
	Edit      string // the YAML in the editor
	CanChange bool   // the viewer works in one tenant and may change its templates
}

type templateRow struct {
	cases.Template
	YAML string
}

func (s *Server) pageCaseTemplates(w http.ResponseWriter, r *http.Request) {
	s.renderTemplates(w, r, http.StatusOK, r.URL.Query().Get("edit"), "")
}

func (s *Server) renderTemplates(w http.ResponseWriter, r *http.Request, status int, edit, errMsg string) {
	tenant := r.URL.Query().Get("tenant")
	c := caller(r)
	v := s.newView(r, "case_templates.title")
	v.Error = errMsg
	data := templatesPage{Tenant: tenant}
	ts, err := s.deps.Cases.Templates(r.Context(), c, tenant)
	switch {
	case err == nil:
		data.CanChange = c.Can(access.PermCaseWrite)
	case tansa.KindOf(err) == tansa.Invalid && tenant == "":
		// A provider working across tenants sees Tansa's own templates
		// and picks a tenant to change them for.
		if ts, err = cases.Builtins(); err != nil {
			s.pageError(w, r, err)
			return
		}
	default:
		s.pageError(w, r, err)
		return
	}
	for _, t := range ts {
		data.Items = append(data.Items, templateRow{Template: t, YAML: t.YAML()})
		if t.Type == edit {
			data.Edit = t.YAML()
		}
	}
	if data.Edit == "" && edit != "" && strings.Contains(edit, "\n") {
		data.Edit = edit // a document that failed to save comes back to be fixed
	}
	v.Data = data
	s.render(w, r, status, "case_templates", v)
}

func (s *Server) pageSaveCaseTemplate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, cases.MaxTemplateBytes+maxForm)
	if err := r.ParseForm(); err != nil {
		s.pageError(w, r, tansa.Errorf(tansa.Invalid, "the form could not be read"))
		return
	}
	tenant := r.PostFormValue("tenant")
	c := caller(r)
	var err error
	if typ := r.PostFormValue("revert"); typ != "" {
		err = s.deps.Cases.DeleteTemplate(r.Context(), c, tenant, typ)
	} else {
		_, err = s.deps.Cases.PutTemplate(r.Context(), c, tenant, []byte(r.PostFormValue("yaml")))
	}
	if err != nil {
		if formFailure(err) {
			r.URL.RawQuery = "tenant=" + tenant
			v := s.newView(r, "case_templates.title")
			s.renderTemplates(w, r, statusOf(tansa.KindOf(err)), r.PostFormValue("yaml"), v.formError(err))
			return
		}
		s.pageError(w, r, err)
		return
	}
	target := "/case-templates"
	if tenant != "" {
		target += "?tenant=" + tenant
	}
	redirect(w, r, target, "flash.template_saved")
}

// ---- tracker

type trackerPage struct {
	Items      []cases.TrackerRow
	Pager      pager
	Filter     trackerFilter
	Severities []string
	Statuses   []string
	Export     string // the CSV export's address with these filters
	Me         string
	Now        time.Time
}

type trackerFilter struct {
	Kind, Owner, Status, Severity, Q, Tenant string
	Overdue                                  bool
}

func (s *Server) pageTracker(w http.ResponseWriter, r *http.Request) {
	p, err := consolePaging(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	q, err := trackerQuery(r, p)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	c := caller(r)
	rows, total, err := s.deps.Cases.Tracker(r.Context(), c, q)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := r.URL.Query()
	data := trackerPage{Items: rows, Pager: newPager(r, p, len(rows), total), Severities: cases.Severities, Now: time.Now(),
		Filter: trackerFilter{Kind: q.Kind, Owner: q.Owner, Status: q.Status, Severity: q.Severity, Q: q.Text, Tenant: v.Get("tenant"), Overdue: !q.OverdueAt.IsZero()}}
	for _, ph := range cases.Phases[:len(cases.Phases)-1] {
		data.Statuses = append(data.Statuses, string(ph))
	}
	data.Statuses = append(data.Statuses, string(cases.TaskOpen), string(cases.TaskInProgress))
	if c.Kind == "user" {
		data.Me = c.ID
	}
	ex := r.URL.Query()
	ex.Del("offset")
	ex.Del("limit")
	ex.Del("flash")
	ex.Set("format", "csv")
	data.Export = "/api/v1/case-tracker?" + ex.Encode()
	view := s.newView(r, "tracker.title")
	view.Data = data
	s.render(w, r, http.StatusOK, "tracker", view)
}

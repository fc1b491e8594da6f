package web

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/playbook"
	"github.com/tansa-sec/tansa/internal/tansa"
	"github.com/tansa-sec/tansa/playbooks"
)

// Response playbooks (issue #7): the API and console pages for playbooks
// (YAML editor with validation by line and test results), their runs
// (steps with inputs and outputs, approve/reject, revert of containment)
// and the tenants' connectors, whose secrets are never shown again.

var errNoPlaybooks = tansa.Errorf(tansa.Unavailable, "playbooks are not available on this server")

// ---- API

type playbookBody struct {
	TenantID string `json:"tenant_id"`
	Source   string `json:"source"`
	Enabled  *bool  `json:"enabled"`
	Version  int    `json:"version"`
}

type playbookAnswer struct {
	playbook.Playbook
	Check *playbook.Checked `json:"check,omitempty"`
}

func (s *Server) apiPlaybooks(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.writeError(w, r, errNoPlaybooks)
		return
	}
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, total, err := s.deps.Playbooks.Playbooks(r.Context(), caller(r), playbook.PlaybookQuery{Scope: askedScope(r), Text: r.URL.Query().Get("q"), Page: p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, total, p)
}

func (s *Server) apiCreatePlaybook(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.writeError(w, r, errNoPlaybooks)
		return
	}
	var in playbookBody
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	pb, chk, err := s.deps.Playbooks.Create(r.Context(), caller(r), playbook.PlaybookInput{TenantID: in.TenantID, Source: in.Source, Enabled: in.Enabled})
	if err != nil {
		s.writePlaybookError(w, r, err, chk)
		return
	}
	writeJSON(w, http.StatusCreated, playbookAnswer{pb, &chk})
}

// writePlaybookError answers a refused document with its problems by
// line beside the usual error, so an editor can mark them.
func (s *Server) writePlaybookError(w http.ResponseWriter, r *http.Request, err error, chk playbook.Checked) {
	if tansa.KindOf(err) != tansa.Invalid || (chk.Problems == nil && chk.Tests == nil) {
		s.writeError(w, r, err)
		return
	}
	var body struct {
		apiError
		Check playbook.Checked `json:"check"`
	}
	body.Error.Code, body.Error.Message, body.Check = tansa.Invalid.String(), tansa.MessageOf(err), chk
	writeJSON(w, http.StatusBadRequest, body)
}

func (s *Server) apiCheckPlaybook(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.writeError(w, r, errNoPlaybooks)
		return
	}
	var in struct {
		Source string `json:"source"`
	}
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	chk, err := s.deps.Playbooks.Check(r.Context(), caller(r), in.Source)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, chk)
}

func (s *Server) apiPlaybook(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.writeError(w, r, errNoPlaybooks)
		return
	}
	pb, err := s.deps.Playbooks.Playbook(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pb)
}

func (s *Server) apiUpdatePlaybook(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.writeError(w, r, errNoPlaybooks)
		return
	}
	var in playbookBody
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.TenantID != "" {
		s.writeError(w, r, tansa.Errorf(tansa.Invalid, "tenant_id: a playbook cannot move to another tenant"))
		return
	}
	pb, chk, err := s.deps.Playbooks.Update(r.Context(), caller(r), r.PathValue("id"), playbook.PlaybookInput{Source: in.Source, Enabled: in.Enabled, Version: in.Version})
	if err != nil {
		s.writePlaybookError(w, r, err, chk)
		return
	}
	writeJSON(w, http.StatusOK, playbookAnswer{pb, &chk})
}

type startBody struct {
	Alert  map[string]any `json:"alert"`
	CaseID string         `json:"case_id"`
	DryRun bool           `json:"dry_run"`
}

func (s *Server) apiStartRun(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.writeError(w, r, errNoPlaybooks)
		return
	}
	var in startBody
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	run, err := s.deps.Playbooks.Start(r.Context(), caller(r), r.PathValue("id"), playbook.StartInput{Alert: in.Alert, CaseID: in.CaseID, DryRun: in.DryRun})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, run)
}

func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.writeError(w, r, errNoPlaybooks)
		return
	}
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := r.URL.Query()
	items, total, err := s.deps.Playbooks.Runs(r.Context(), caller(r), playbook.RunQuery{Scope: askedScope(r), PlaybookID: v.Get("playbook"), Status: v.Get("status"), Page: p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, total, p)
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.writeError(w, r, errNoPlaybooks)
		return
	}
	run, err := s.deps.Playbooks.Run(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

type decideBody struct {
	Step     string `json:"step"`
	Decision string `json:"decision"`
	Comment  string `json:"comment"`
}

func (s *Server) apiDecide(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.writeError(w, r, errNoPlaybooks)
		return
	}
	var in decideBody
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	run, err := s.deps.Playbooks.Decide(r.Context(), caller(r), r.PathValue("id"), in.Step, in.Decision, in.Comment)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func (s *Server) apiRevert(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.writeError(w, r, errNoPlaybooks)
		return
	}
	var in struct {
		Step string `json:"step"`
	}
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	run, err := s.deps.Playbooks.Revert(r.Context(), caller(r), r.PathValue("id"), in.Step)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func (s *Server) apiConnectors(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.writeError(w, r, errNoPlaybooks)
		return
	}
	items, err := s.deps.Playbooks.Connectors(r.Context(), caller(r), askedScope(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, len(items), access.Page{Limit: len(items)})
}

type connectorBody struct {
	TenantID string            `json:"tenant_id"`
	Name     string            `json:"name"`
	Kind     string            `json:"kind"`
	Config   map[string]string `json:"config"`
	Secrets  map[string]string `json:"secrets"`
}

func (s *Server) apiPutConnector(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.writeError(w, r, errNoPlaybooks)
		return
	}
	var in connectorBody
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.deps.Playbooks.PutConnector(r.Context(), caller(r), playbook.ConnectorInput(in))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) apiDeleteConnector(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.writeError(w, r, errNoPlaybooks)
		return
	}
	if err := s.deps.Playbooks.DeleteConnector(r.Context(), caller(r), r.URL.Query().Get("tenant"), r.PathValue("name")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiBlocks(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.writeError(w, r, errNoPlaybooks)
		return
	}
	items, err := s.deps.Playbooks.Blocks(r.Context(), caller(r), r.URL.Query().Get("tenant"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, len(items), access.Page{Limit: len(items)})
}

// ---- console

type builtinPlaybook struct {
	File, Name, Source string
}

func builtinPlaybooks() []builtinPlaybook {
	names, _ := fs.Glob(playbooks.Files, "*.yaml")
	var out []builtinPlaybook
	for _, n := range names {
		b, err := fs.ReadFile(playbooks.Files, n)
		if err != nil {
			continue
		}
		d, err := playbook.Parse(b)
		if err != nil {
			continue
		}
		out = append(out, builtinPlaybook{File: n, Name: d.Name, Source: string(b)})
	}
	return out
}

type playbooksPage struct {
	Items    []playbook.Playbook
	Pager    pager
	Builtins []builtinPlaybook
	Form     playbookForm
}

type playbookForm struct {
	TenantID, Source string
	Enabled          bool
	Version          int
	Check            *playbook.Checked
}

func (s *Server) pagePlaybooks(w http.ResponseWriter, r *http.Request) {
	src := ""
	if f := r.URL.Query().Get("builtin"); f != "" {
		for _, b := range builtinPlaybooks() {
			if b.File == f {
				src = b.Source
			}
		}
	}
	s.showPlaybooks(w, r, http.StatusOK, playbookForm{TenantID: s.defaultTenant(r), Source: src}, "")
}

func (s *Server) showPlaybooks(w http.ResponseWriter, r *http.Request, status int, f playbookForm, formErr string) {
	if s.deps.Playbooks == nil {
		s.pageError(w, r, errNoPlaybooks)
		return
	}
	p, err := consolePaging(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	items, total, err := s.deps.Playbooks.Playbooks(r.Context(), caller(r), playbook.PlaybookQuery{Scope: askedScope(r), Text: r.URL.Query().Get("q"), Page: p})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := s.newView(r, "playbooks.title")
	v.Error = formErr
	v.Data = playbooksPage{Items: items, Pager: newPager(r, p, len(items), total), Builtins: builtinPlaybooks(), Form: f}
	s.render(w, r, status, "playbooks", v)
}

func (s *Server) pageCreatePlaybook(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	if s.deps.Playbooks == nil {
		s.pageError(w, r, errNoPlaybooks)
		return
	}
	f := playbookForm{TenantID: r.PostFormValue("tenant_id"), Source: r.PostFormValue("source"), Enabled: r.PostFormValue("enabled") == "on"}
	pb, chk, err := s.deps.Playbooks.Create(r.Context(), caller(r), playbook.PlaybookInput{TenantID: f.TenantID, Source: f.Source, Enabled: &f.Enabled})
	if err != nil {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		f.Check = &chk
		v := s.newView(r, "playbooks.title")
		s.showPlaybooks(w, r, statusOf(tansa.KindOf(err)), f, v.formError(err))
		return
	}
	redirect(w, r, "/playbooks/"+pb.ID, "flash.playbook_saved")
}

type playbookPage struct {
	Playbook   playbook.Playbook
	Form       playbookForm
	Runs       []playbook.Run
	RunsTotal  int
	Triggered  string // the trigger's condition, for the page
	Manual     bool
	SampleJSON string
}

func (s *Server) pagePlaybook(w http.ResponseWriter, r *http.Request) {
	s.showPlaybook(w, r, http.StatusOK, nil, "")
}

func (s *Server) showPlaybook(w http.ResponseWriter, r *http.Request, status int, f *playbookForm, formErr string) {
	if s.deps.Playbooks == nil {
		s.pageError(w, r, errNoPlaybooks)
		return
	}
	c := caller(r)
	pb, err := s.deps.Playbooks.Playbook(r.Context(), c, r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if f == nil {
		chk, _ := s.deps.Playbooks.Check(r.Context(), c, pb.Source)
		f = &playbookForm{Source: pb.Source, Enabled: pb.Enabled, Version: pb.Version, Check: &chk}
	}
	runs, total, err := s.deps.Playbooks.Runs(r.Context(), c, playbook.RunQuery{PlaybookID: pb.ID, Page: access.Page{Limit: 20}})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	data := playbookPage{Playbook: pb, Form: *f, Runs: runs, RunsTotal: total,
		SampleJSON: `{"rule": "Known C2 domain", "level": "high", "kind": "ioc", "host": "pc-042", "observables": {"domain": ["evil.example"]}}`}
	if d, err := playbook.Parse([]byte(pb.Source)); err == nil {
		data.Triggered, data.Manual = d.Trigger.Alert, d.Trigger.Manual
	}
	v := s.newView(r, "playbook.title")
	v.Title = pb.Name
	v.Error = formErr
	v.Data = data
	s.render(w, r, status, "playbook", v)
}

func (s *Server) pageUpdatePlaybook(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	if s.deps.Playbooks == nil {
		s.pageError(w, r, errNoPlaybooks)
		return
	}
	version, _ := strconv.Atoi(r.PostFormValue("version"))
	f := playbookForm{Source: r.PostFormValue("source"), Enabled: r.PostFormValue("enabled") == "on", Version: version}
	_, chk, err := s.deps.Playbooks.Update(r.Context(), caller(r), r.PathValue("id"), playbook.PlaybookInput{Source: f.Source, Enabled: &f.Enabled, Version: f.Version})
	if err != nil {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		f.Check = &chk
		v := s.newView(r, "playbook.title")
		s.showPlaybook(w, r, statusOf(tansa.KindOf(err)), &f, v.formError(err))
		return
	}
	redirect(w, r, "/playbooks/"+r.PathValue("id"), "flash.playbook_saved")
}

func (s *Server) pageStartRun(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	if s.deps.Playbooks == nil {
		s.pageError(w, r, errNoPlaybooks)
		return
	}
	in := playbook.StartInput{DryRun: r.PostFormValue("dry_run") == "on", CaseID: r.PostFormValue("case_id")}
	if a := strings.TrimSpace(r.PostFormValue("alert")); a != "" {
		if err := json.Unmarshal([]byte(a), &in.Alert); err != nil {
			v := s.newView(r, "playbook.title")
			s.showPlaybook(w, r, http.StatusBadRequest, nil, v.formError(tansa.Errorf(tansa.Invalid, "alert: not a JSON object: %v", err)))
			return
		}
	}
	run, err := s.deps.Playbooks.Start(r.Context(), caller(r), r.PathValue("id"), in)
	if err != nil {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		v := s.newView(r, "playbook.title")
		s.showPlaybook(w, r, statusOf(tansa.KindOf(err)), nil, v.formError(err))
		return
	}
	redirect(w, r, "/playbook-runs/"+run.ID, "flash.run_started")
}

type runsPage struct {
	Runs     []playbook.Run
	Pager    pager
	Status   string
	Statuses []string
}

func (s *Server) pageRuns(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.pageError(w, r, errNoPlaybooks)
		return
	}
	p, err := consolePaging(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	st := r.URL.Query().Get("status")
	items, total, err := s.deps.Playbooks.Runs(r.Context(), caller(r), playbook.RunQuery{Scope: askedScope(r), Status: st, Page: p})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := s.newView(r, "runs.title")
	v.Data = runsPage{Runs: items, Pager: newPager(r, p, len(items), total), Status: st,
		Statuses: []string{playbook.StatusRunning, playbook.StatusWaiting, playbook.StatusSucceeded, playbook.StatusFailed, playbook.StatusRejected}}
	s.render(w, r, http.StatusOK, "runs", v)
}

// runStep is one step of a run's playbook with its record, if any.
type runStep struct {
	ID, Name, Action string
	Record           *playbook.StepRecord
	Input, Output    string
	Approvers        string
	CanDecide        bool
	CanRevert        bool
}

type runPage struct {
	Run   playbook.Run
	Steps []runStep
	Alert string
}

func (s *Server) pageRun(w http.ResponseWriter, r *http.Request) {
	if s.deps.Playbooks == nil {
		s.pageError(w, r, errNoPlaybooks)
		return
	}
	c := caller(r)
	run, err := s.deps.Playbooks.Run(r.Context(), c, r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	data := runPage{Run: run, Alert: prettyJSON(run.Alert)}
	d, err := s.deps.Playbooks.Definition(r.Context(), run)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	for _, st := range d.Steps {
		rs := runStep{ID: st.ID, Name: st.Name, Action: st.Action}
		if i := slices.IndexFunc(run.Steps, func(x playbook.StepRecord) bool { return x.StepID == st.ID }); i >= 0 {
			rec := run.Steps[i]
			rs.Record, rs.Input, rs.Output = &rec, prettyJSON(rec.Input), prettyJSON(rec.Output)
			rs.CanDecide = st.Action == playbook.ActApproval && rec.Status == playbook.StepWaiting && rec.Decision == "" &&
				c.Can(access.PermPlaybookRun) && playbook.CanApprove(c, st)
			rs.CanRevert = playbook.Containment(st.Action) && rec.Status == playbook.StepSucceeded && rec.Reverted.IsZero() &&
				!run.DryRun && c.Can(access.PermPlaybookRun)
		}
		if st.Action == playbook.ActApproval {
			rs.Approvers = strings.Join(append(append([]string{}, st.Approvers.Roles...), st.Approvers.Users...), ", ")
		}
		data.Steps = append(data.Steps, rs)
	}
	v := s.newView(r, "run.title")
	v.Data = data
	s.render(w, r, http.StatusOK, "run", v)
}

func (s *Server) pageDecide(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	if s.deps.Playbooks == nil {
		s.pageError(w, r, errNoPlaybooks)
		return
	}
	id := r.PathValue("id")
	if _, err := s.deps.Playbooks.Decide(r.Context(), caller(r), id, r.PostFormValue("step"), r.PostFormValue("decision"), r.PostFormValue("comment")); err != nil {
		s.pageError(w, r, err)
		return
	}
	redirect(w, r, "/playbook-runs/"+id, "flash.run_decided")
}

func (s *Server) pageRevert(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	if s.deps.Playbooks == nil {
		s.pageError(w, r, errNoPlaybooks)
		return
	}
	id := r.PathValue("id")
	if _, err := s.deps.Playbooks.Revert(r.Context(), caller(r), id, r.PostFormValue("step")); err != nil {
		s.pageError(w, r, err)
		return
	}
	redirect(w, r, "/playbook-runs/"+id, "flash.run_reverted")
}

type connectorsPage struct {
	Items []playbook.ConnectorView
	Kinds []playbook.ConnectorKind
	Form  connectorForm
}

type connectorForm struct {
	TenantID, Name, Kind, Config string
}

func (s *Server) pageConnectors(w http.ResponseWriter, r *http.Request) {
	s.showConnectors(w, r, http.StatusOK, connectorForm{TenantID: s.defaultTenant(r), Kind: "smtp"}, "")
}

func (s *Server) showConnectors(w http.ResponseWriter, r *http.Request, status int, f connectorForm, formErr string) {
	if s.deps.Playbooks == nil {
		s.pageError(w, r, errNoPlaybooks)
		return
	}
	items, err := s.deps.Playbooks.Connectors(r.Context(), caller(r), askedScope(r))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := s.newView(r, "connectors.title")
	v.Error = formErr
	v.Data = connectorsPage{Items: items, Kinds: playbook.ConnectorKinds, Form: f}
	s.render(w, r, status, "connectors", v)
}

// parseKV reads "key=value" lines.
func parseKV(s string) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, tansa.Errorf(tansa.Invalid, "line %d: write key=value", i+1)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

func (s *Server) pagePutConnector(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	f := connectorForm{TenantID: r.PostFormValue("tenant_id"), Name: r.PostFormValue("name"), Kind: r.PostFormValue("kind"), Config: r.PostFormValue("config")}
	fail := func(err error) {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		v := s.newView(r, "connectors.title")
		s.showConnectors(w, r, statusOf(tansa.KindOf(err)), f, v.formError(err))
	}
	cfg, err := parseKV(f.Config)
	if err != nil {
		fail(err)
		return
	}
	secrets, err := parseKV(r.PostFormValue("secrets"))
	if err != nil {
		fail(err)
		return
	}
	if s.deps.Playbooks == nil {
		s.pageError(w, r, errNoPlaybooks)
		return
	}
	if _, err := s.deps.Playbooks.PutConnector(r.Context(), caller(r), playbook.ConnectorInput{TenantID: f.TenantID, Name: f.Name, Kind: f.Kind, Config: cfg, Secrets: secrets}); err != nil {
		fail(err)
		return
	}
	redirect(w, r, "/admin/connectors", "flash.connector_saved")
}

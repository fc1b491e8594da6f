package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// The console's detection pages: the Alerts queue (filters, sort, bulk and
// keyboard triage, live refresh through /api/v1/alerts/stream), an
// alert's page with its matched fields and linked events, the Rules page
// (versions and switching rules on or off) and the Exceptions page. Every
// read and change goes through alert.Service and ruleset.Service, which
// keep it inside the viewer's tenants.

type alertsFilter struct {
	Status, MinLevel, Q, Host, User, Rule, Assignee, Sort, Tenant string
}

type alertsPage struct {
	Filter  alertsFilter
	Items   []tansa.Alert
	Pager   pager
	Reasons []alert.CloseReason
	Levels  []string
	Sorts   []alert.Sort
	// Statuses are the status filter's choices: open (new and
	// acknowledged), each status, and all.
	Statuses []string
	Back     string
}

func (s *Server) pageAlerts(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "alerts.title")
	q := r.URL.Query()
	f := alertsFilter{Status: q.Get("status"), MinLevel: q.Get("min_level"), Q: q.Get("q"), Host: q.Get("host"), User: q.Get("user"),
		Rule: q.Get("rule"), Assignee: q.Get("assignee"), Sort: q.Get("sort"), Tenant: q.Get("tenant")}
	if !q.Has("status") {
		f.Status = "open"
	}
	data := alertsPage{Filter: f, Reasons: alert.CloseReasons, Levels: tansa.Levels, Sorts: alert.Sorts, Back: listURL(r),
		Statuses: []string{"open", "new", "acknowledged", "closed", "all"}}
	p, err := consolePaging(r)
	if err == nil {
		aq := alert.Query{Scope: askedScope(r), MinLevel: f.MinLevel, Text: f.Q, Host: f.Host, User: f.User, RuleID: f.Rule,
			Assignee: f.Assignee, Sort: alert.Sort(f.Sort), Page: p}
		switch f.Status {
		case "open":
			aq.Status = []tansa.AlertStatus{tansa.AlertNew, tansa.AlertAcknowledged}
		case "", "all":
		default:
			aq.Status = []tansa.AlertStatus{tansa.AlertStatus(f.Status)}
		}
		var total int
		data.Items, total, err = s.deps.Alerts.List(r.Context(), caller(r), aq)
		data.Pager = newPager(r, p, len(data.Items), total)
	}
	if err != nil {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		v.Error = v.formError(err)
	}
	v.Data = data
	s.render(w, r, http.StatusOK, "alerts", v)
}

// pageAlertsTriage applies one triage action to the alerts ticked in the
// queue (or the one alert of an alert's page) and goes back.
func (s *Server) pageAlertsTriage(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	in := alert.TriageInput{Action: alert.Action(r.PostFormValue("action")), IDs: r.PostForm["id"],
		Assignee: r.PostFormValue("assignee"), Reason: alert.CloseReason(r.PostFormValue("reason")), Note: r.PostFormValue("note")}
	if in.Action == alert.Assign && in.Assignee == "me" {
		in.Assignee = caller(r).ID
	}
	back := backTo(r, r.PostFormValue("next"))
	if _, err := s.deps.Alerts.Triage(r.Context(), caller(r), in); err != nil {
		if tansa.KindOf(err) == tansa.Invalid {
			redirect(w, r, back, "flash.alerts_invalid")
			return
		}
		s.pageError(w, r, err)
		return
	}
	redirect(w, r, back, "flash.alerts_triaged")
}

type contextRow struct{ Name, Value string }

type alertPage struct {
	Alert   tansa.Alert
	Fields  []contextRow // matched fields
	Context []contextRow // the rest of the context
	Reasons []alert.CloseReason
	Back    string
	// ExceptionURL opens the Exceptions page pre-filled for this alert.
	ExceptionURL string
}

func (s *Server) pageAlert(w http.ResponseWriter, r *http.Request) {
	a, err := s.deps.Alerts.Get(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := s.newView(r, "alert.title")
	data := alertPage{Alert: a, Reasons: alert.CloseReasons, Back: r.URL.Path, ExceptionURL: exceptionFrom(a)}
	var c map[string]any
	if len(a.Context) > 0 && json.Unmarshal(a.Context, &c) == nil {
		if fs, ok := c["fields"].(map[string]any); ok {
			for k, val := range fs {
				data.Fields = append(data.Fields, contextRow{k, display(val)})
			}
			delete(c, "fields")
		}
		for k, val := range c {
			data.Context = append(data.Context, contextRow{k, display(val)})
		}
	}
	byName := func(a, b contextRow) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(data.Fields, byName)
	slices.SortFunc(data.Context, byName)
	v.Data = data
	s.render(w, r, http.StatusOK, "alert", v)
}

func display(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// ---- rules

type rulesPage struct {
	Versions  []ruleset.Version
	Rules     []ruleset.Rule
	Settings  ruleset.Settings
	HasTenant bool
	Q, Tenant string
	Pager     pager
	Back      string
}

func (s *Server) pageRules(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "rules.title")
	c := caller(r)
	q := r.URL.Query()
	data := rulesPage{Q: q.Get("q"), Tenant: q.Get("tenant"), Back: listURL(r)}
	p, err := consolePaging(r)
	if err == nil {
		data.Versions, _, err = s.deps.Rules.Versions(r.Context(), c, ruleset.VersionQuery{Scope: askedScope(r), Page: access.Page{Limit: 10}})
	}
	if err == nil {
		var total int
		data.Rules, total, err = s.deps.Rules.Rules(r.Context(), c, ruleset.RuleQuery{Tenant: data.Tenant, Text: data.Q, Page: p})
		data.Pager = newPager(r, p, len(data.Rules), total)
	}
	if err == nil {
		if st, serr := s.deps.Rules.Settings(r.Context(), c, data.Tenant); serr == nil {
			data.Settings, data.HasTenant = st, true
		}
	}
	if err != nil {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		v.Error = v.formError(err)
	}
	v.Data = data
	s.render(w, r, http.StatusOK, "rules", v)
}

// pageRulesSwitch turns one rule on or off for the tenant the form names
// (or the viewer's).
func (s *Server) pageRulesSwitch(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	enabled := r.PostFormValue("enabled") == "true"
	_, err := s.deps.Rules.Switch(r.Context(), caller(r), r.PostFormValue("tenant"), r.PostForm["rule_id"], enabled)
	back := backTo(r, r.PostFormValue("next"))
	if err != nil {
		if tansa.KindOf(err) == tansa.Invalid {
			redirect(w, r, back, "flash.rules_invalid")
			return
		}
		s.pageError(w, r, err)
		return
	}
	redirect(w, r, back, "flash.rules_switched")
}

// ---- exceptions

type exceptionsPage struct {
	Items  []alert.Exception
	Pager  pager
	Form   alert.ExceptionInput
	Field  alert.Condition
	Ops    []alert.Op
	Tenant string
	Now    time.Time
}

func (s *Server) pageExceptions(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "exceptions.title")
	q := r.URL.Query()
	data := exceptionsPage{Ops: alert.Ops, Tenant: q.Get("tenant"), Now: time.Now(), Form: alert.ExceptionInput{RuleID: q.Get("rule"), Host: q.Get("host"), User: q.Get("user")}}
	s.exceptionsList(w, r, v, &data)
}

func (s *Server) exceptionsList(w http.ResponseWriter, r *http.Request, v *view, data *exceptionsPage) {
	p, err := consolePaging(r)
	if err == nil {
		var total int
		data.Items, total, err = s.deps.Alerts.Exceptions(r.Context(), caller(r), alert.ExceptionQuery{Scope: askedScope(r), Page: p})
		data.Pager = newPager(r, p, len(data.Items), total)
	}
	if err != nil {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		v.Error = v.formError(err)
	}
	v.Data = *data
	status := http.StatusOK
	if v.Error != "" {
		status = http.StatusBadRequest
	}
	s.render(w, r, status, "exceptions", v)
}

// pageCreateException creates an exception from the form: rule, host,
// user, one field condition, reason, owner and expiry in days.
func (s *Server) pageCreateException(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	f := r.PostForm
	in := alert.ExceptionInput{TenantID: f.Get("tenant_id"), RuleID: f.Get("rule_id"), Host: f.Get("host"), User: f.Get("user"),
		Reason: f.Get("reason"), Owner: f.Get("owner")}
	cond := alert.Condition{Field: strings.TrimSpace(f.Get("field")), Op: alert.Op(f.Get("op")), Values: []string{f.Get("value")}}
	if cond.Field != "" {
		in.Conditions = []alert.Condition{cond}
	}
	var days int
	if d := f.Get("days"); d != "" {
		if _, err := fmt.Sscan(d, &days); err != nil || days < 0 || days > 3650 {
			days = -1
		}
	}
	var err error
	if days < 0 {
		err = tansa.Errorf(tansa.Invalid, "days: a whole number of days from 0 (never) to 3650")
	} else {
		if days > 0 {
			in.Expires = time.Now().Add(time.Duration(days) * 24 * time.Hour)
		}
		_, err = s.deps.Alerts.CreateException(r.Context(), caller(r), in)
	}
	if err != nil {
		if !formFailure(err) && tansa.KindOf(err) != tansa.NotFound {
			s.pageError(w, r, err)
			return
		}
		v := s.newView(r, "exceptions.title")
		v.Error = v.formError(err)
		s.exceptionsList(w, r, v, &exceptionsPage{Ops: alert.Ops, Now: time.Now(), Form: in, Field: cond})
		return
	}
	redirect(w, r, "/exceptions", "flash.exception_created")
}

func (s *Server) pageDeleteException(w http.ResponseWriter, r *http.Request) {
	if _, err := s.deps.Alerts.DeleteException(r.Context(), caller(r), r.PathValue("id")); err != nil {
		s.pageError(w, r, err)
		return
	}
	redirect(w, r, "/exceptions", "flash.exception_deleted")
}

// exceptionFrom is the Exceptions page's address pre-filled from an alert.
func exceptionFrom(a tansa.Alert) string {
	return "/exceptions?" + url.Values{"rule": {a.RuleID}, "host": {a.Host}, "tenant": {a.TenantID}}.Encode()
}

package cases

import (
	"context"
	"encoding/csv"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// DefaultSLA are the targets of a tenant that has set none: a critical
// case acknowledged in 15 minutes, contained in 4 hours, closed in 3 days,
// and longer for lower severities.
var DefaultSLA = []SLATarget{
	{Severity: "critical", Acknowledge: 15 * time.Minute, Contain: 4 * time.Hour, Close: 72 * time.Hour},
	{Severity: "high", Acknowledge: time.Hour, Contain: 24 * time.Hour, Close: 7 * 24 * time.Hour},
	{Severity: "medium", Acknowledge: 4 * time.Hour, Contain: 72 * time.Hour, Close: 14 * 24 * time.Hour},
	{Severity: "low", Acknowledge: 24 * time.Hour, Contain: 7 * 24 * time.Hour, Close: 30 * 24 * time.Hour},
}

// sla returns a tenant's targets for every severity: its own where set,
// the defaults elsewhere.
func (s *Service) sla(ctx context.Context, tenant string) ([]SLATarget, error) {
	own, err := s.store.SLA(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(DefaultSLA)
	for i := range out {
		if j := slices.IndexFunc(own, func(t SLATarget) bool { return t.Severity == out[i].Severity }); j >= 0 {
			out[i] = own[j]
		}
	}
	return out, nil
}

// setDeadlines sets cs's timer deadlines from its tenant's targets for its
// severity, counted from its creation.
func (s *Service) setDeadlines(ctx context.Context, cs *Case) error {
	ts, err := s.sla(ctx, cs.TenantID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ts, func(t SLATarget) bool { return t.Severity == cs.Severity })
	if i < 0 {
		return nil
	}
	due := func(d time.Duration) time.Time {
		if d <= 0 {
			return time.Time{}
		}
		return cs.Created.Add(d)
	}
	cs.AckDue, cs.ContainDue, cs.CloseDue = due(ts[i].Acknowledge), due(ts[i].Contain), due(ts[i].Close)
	return nil
}

// SLA returns the targets of a tenant (or the one c works in), one per
// severity, highest first.
func (s *Service) SLA(ctx context.Context, c access.Caller, tenant string) ([]SLATarget, error) {
	if err := c.Require(access.PermCaseRead); err != nil {
		return nil, err
	}
	t, err := s.reach(ctx, c, tenant)
	if err != nil {
		return nil, err
	}
	return s.sla(ctx, t.ID)
}

// maxTarget bounds an SLA target.
const maxTarget = 365 * 24 * time.Hour

// SetSLA replaces a tenant's targets. Severities not in ts keep the
// defaults. New deadlines apply to cases created, or whose severity
// changes, afterwards.
func (s *Service) SetSLA(ctx context.Context, c access.Caller, tenant string, ts []SLATarget) ([]SLATarget, error) {
	if err := c.Require(access.PermCaseWrite); err != nil {
		return nil, err
	}
	t, err := s.reach(ctx, c, tenant)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, x := range ts {
		if !ValidSeverity(x.Severity) {
			return nil, tansa.Errorf(tansa.Invalid, "targets[%d].severity: %q must be one of %s", i, x.Severity, strings.Join(Severities, ", "))
		}
		if seen[x.Severity] {
			return nil, tansa.Errorf(tansa.Invalid, "targets[%d].severity: %s given twice", i, x.Severity)
		}
		seen[x.Severity] = true
		for name, d := range map[string]time.Duration{"acknowledge": x.Acknowledge, "contain": x.Contain, "close": x.Close} {
			if d < 0 || d > maxTarget {
				return nil, tansa.Errorf(tansa.Invalid, "targets[%d].%s: must be from 0 (no target) to 365 days", i, name)
			}
		}
		if x.Acknowledge > 0 && x.Close > 0 && x.Close < x.Acknowledge {
			return nil, tansa.Errorf(tansa.Invalid, "targets[%d]: closing cannot be due before acknowledging", i)
		}
		ts[i].Acknowledge, ts[i].Contain, ts[i].Close = x.Acknowledge.Truncate(time.Minute), x.Contain.Truncate(time.Minute), x.Close.Truncate(time.Minute)
	}
	before, err := s.sla(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	if err := s.store.PutSLA(ctx, t.ID, ts, s.audit(c, s.now(), "case-sla.update", "case-sla", t.ID, t.ID, before, ts)); err != nil {
		return nil, err
	}
	return s.sla(ctx, t.ID)
}

// ---- templates

// templates returns the templates in force in tenant: Tansa's, each
// replaced by the tenant's version where it has one, then the tenant's own
// types.
func (s *Service) templates(ctx context.Context, tenant string) ([]Template, error) {
	own, err := s.store.CaseTemplates(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(s.builtins)
	for _, t := range own {
		if i := slices.IndexFunc(out, func(b Template) bool { return b.Type == t.Type }); i >= 0 {
			out[i] = t
		} else {
			out = append(out, t)
		}
	}
	return out, nil
}

// Templates returns the case templates in force in a tenant (or the one c
// works in): Tansa's own where the tenant keeps no version of its own.
func (s *Service) Templates(ctx context.Context, c access.Caller, tenant string) ([]Template, error) {
	if err := c.Require(access.PermCaseRead); err != nil {
		return nil, err
	}
	t, err := s.reach(ctx, c, tenant)
	if err != nil {
		return nil, err
	}
	return s.templates(ctx, t.ID)
}

// Builtin returns Tansa's own template of typ.
func (s *Service) Builtin(typ string) (Template, bool) { return findTemplate(s.builtins, typ) }

// MaxTenantTemplates bounds the templates a tenant keeps.
const MaxTenantTemplates = 50

// PutTemplate stores doc (YAML or JSON, see ParseTemplate) as a tenant's
// version of the template of its type, or as a new type.
func (s *Service) PutTemplate(ctx context.Context, c access.Caller, tenant string, doc []byte) (Template, error) {
	if err := c.Require(access.PermCaseWrite); err != nil {
		return Template{}, err
	}
	t, err := s.reach(ctx, c, tenant)
	if err != nil {
		return Template{}, err
	}
	tmpl, err := ParseTemplate(doc)
	if err != nil {
		return Template{}, err
	}
	tmpl.TenantID = t.ID
	own, err := s.store.CaseTemplates(ctx, t.ID)
	if err != nil {
		return Template{}, err
	}
	before, exists := findTemplate(own, tmpl.Type)
	if !exists && len(own) >= MaxTenantTemplates {
		return Template{}, tansa.Errorf(tansa.Invalid, "template: a tenant keeps at most %d templates", MaxTenantTemplates)
	}
	var prev any
	if exists {
		prev = before
	}
	now := s.now()
	if err := s.store.PutCaseTemplate(ctx, tmpl, now, s.audit(c, now, "case-template.put", "case-template", tmpl.Type, t.ID, prev, tmpl)); err != nil {
		return Template{}, err
	}
	return tmpl, nil
}

// DeleteTemplate removes a tenant's version of template typ, so that
// Tansa's own (if any) is in force again.
func (s *Service) DeleteTemplate(ctx context.Context, c access.Caller, tenant, typ string) error {
	if err := c.Require(access.PermCaseWrite); err != nil {
		return err
	}
	t, err := s.reach(ctx, c, tenant)
	if err != nil {
		return err
	}
	own, err := s.store.CaseTemplates(ctx, t.ID)
	if err != nil {
		return err
	}
	before, ok := findTemplate(own, typ)
	if !ok {
		return notFound("template", typ)
	}
	return s.store.DeleteCaseTemplate(ctx, t.ID, typ, s.audit(c, s.now(), "case-template.delete", "case-template", typ, t.ID, before, nil))
}

// ---- metrics

// Metrics are a tenant's response times over a period: mean time to
// acknowledge (MTTA), to contain and to close (MTTR), over the cases
// created in the period whose timer stopped.
type Metrics struct {
	TenantID     string        `json:"tenant_id"`
	Since        time.Time     `json:"since"`
	Until        time.Time     `json:"until"`
	Cases        int           `json:"cases"`
	Acknowledged int           `json:"acknowledged"`
	MTTA         time.Duration `json:"mtta"`
	Contained    int           `json:"contained"`
	MTTC         time.Duration `json:"mttc"`
	Closed       int           `json:"closed"`
	MTTR         time.Duration `json:"mttr"`
	Breached     int           `json:"breached"` // cases past a target as of Until (or now, if earlier)
}

// Metrics computes a tenant's MTTA, time to contain and MTTR for cases
// created in [since, until). Zero until means now; zero since means 30 days
// before until.
func (s *Service) Metrics(ctx context.Context, c access.Caller, tenant string, since, until time.Time) (Metrics, error) {
	if err := c.Require(access.PermCaseRead); err != nil {
		return Metrics{}, err
	}
	t, err := s.reach(ctx, c, tenant)
	if err != nil {
		return Metrics{}, err
	}
	now := s.now()
	if until.IsZero() || until.After(now) {
		until = now
	}
	if since.IsZero() {
		since = until.AddDate(0, 0, -30)
	}
	if !since.Before(until) {
		return Metrics{}, tansa.Errorf(tansa.Invalid, "since: must be before until")
	}
	tm, err := s.store.CaseTimes(ctx, TimesQuery{Scope: access.Scope{Tenants: []string{t.ID}}, Since: since, Until: until})
	if err != nil {
		return Metrics{}, err
	}
	m := Metrics{TenantID: t.ID, Since: since, Until: until, Cases: tm.Cases, Acknowledged: tm.Acknowledged,
		Contained: tm.Contained, Closed: tm.Closed, Breached: tm.Breached}
	mean := func(total time.Duration, n int) time.Duration {
		if n == 0 {
			return 0
		}
		return (total / time.Duration(n)).Truncate(time.Second)
	}
	m.MTTA, m.MTTC, m.MTTR = mean(tm.AckTotal, tm.Acknowledged), mean(tm.ContainTotal, tm.Contained), mean(tm.CloseTotal, tm.Closed)
	return m, nil
}

// ---- tracker

// Tracker lists the open cases and unfinished tasks c may see that match
// q, and their total.
func (s *Service) Tracker(ctx context.Context, c access.Caller, q TrackerQuery) ([]TrackerRow, int, error) {
	if err := checkTracker(c, &q); err != nil {
		return nil, 0, err
	}
	return s.store.Tracker(ctx, q)
}

// ExportTracker calls fn for every row of the tracker c may see that
// matches q, all of them (q's page is ignored), in the tracker's order, as
// the store reads them: an export is complete and never held in memory.
func (s *Service) ExportTracker(ctx context.Context, c access.Caller, q TrackerQuery, fn func(TrackerRow) error) error {
	if err := checkTracker(c, &q); err != nil {
		return err
	}
	return s.store.EachTrackerRow(ctx, q, fn)
}

// checkTracker checks c's permission and q's filters, and narrows q's
// scope to what c may see.
func checkTracker(c access.Caller, q *TrackerQuery) error {
	if err := c.Require(access.PermCaseRead); err != nil {
		return err
	}
	if q.Kind != "" && q.Kind != "case" && q.Kind != "task" {
		return tansa.Errorf(tansa.Invalid, "kind: %q must be case or task", q.Kind)
	}
	if q.Severity != "" && !ValidSeverity(q.Severity) {
		return severityError(q.Severity)
	}
	if q.Status != "" && !Phase(q.Status).Valid() && !TaskStatus(q.Status).Valid() {
		return tansa.Errorf(tansa.Invalid, "status: %q is neither a phase nor a task status", q.Status)
	}
	q.Scope = scope(c, q.Scope)
	return nil
}

// WriteTrackerCSV writes rows as a TrackerCSV.
func WriteTrackerCSV(w io.Writer, rows []TrackerRow, lang string, loc *time.Location, tenantName func(string) string) error {
	tc, err := NewTrackerCSV(w, lang, loc, tenantName)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := tc.Write(r); err != nil {
			return err
		}
	}
	return tc.Flush()
}

// TrackerCSV writes tracker rows as CSV for spreadsheets, one at a time:
// UTF-8 with a byte order mark, so that Excel in Japan opens it as UTF-8
// rather than Shift_JIS, CRLF line ends, headers in lang, times in loc.
// Cells that a spreadsheet would read as a formula are prefixed with a
// quote.
type TrackerCSV struct {
	cw         *csv.Writer
	lang       string
	loc        *time.Location
	tenantName func(string) string
}

// NewTrackerCSV writes the byte order mark and the header line to w.
func NewTrackerCSV(w io.Writer, lang string, loc *time.Location, tenantName func(string) string) (*TrackerCSV, error) {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return nil, err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	head := []string{"Kind", "ID", "Tenant", "Case", "Title", "Owner", "Due", "Status", "Severity", "Updated", "Case ID"}
	if lang == "ja" {
		head = []string{"種別", "ID", "テナント", "インシデント", "件名", "担当者", "期限", "状態", "重大度", "更新日時", "インシデントID"}
	}
	if err := cw.Write(head); err != nil {
		return nil, err
	}
	return &TrackerCSV{cw: cw, lang: lang, loc: loc, tenantName: tenantName}, nil
}

// Write writes one row; the csv package buffers a few kilobytes before
// they reach the writer below.
func (t *TrackerCSV) Write(r TrackerRow) error {
	when := func(tm time.Time) string {
		if tm.IsZero() {
			return ""
		}
		return tm.In(t.loc).Format("2006-01-02 15:04")
	}
	kind := r.Kind
	if t.lang == "ja" {
		kind = map[string]string{"case": "インシデント", "task": "タスク"}[r.Kind]
	}
	rec := []string{kind, r.ID, t.tenantName(r.TenantID), r.CaseTitle, r.Title, r.OwnerName, when(r.Due), r.Status,
		r.Severity, when(r.Updated), r.CaseID}
	for i, v := range rec {
		rec[i] = defuse(v)
	}
	return t.cw.Write(rec)
}

// Flush writes what is buffered.
func (t *TrackerCSV) Flush() error {
	t.cw.Flush()
	return t.cw.Error()
}

// defuse keeps a spreadsheet from evaluating a cell as a formula (CSV
// injection): text starting with = + - @ or a tab is prefixed with '.
func defuse(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

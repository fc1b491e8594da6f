package cases

import (
	"context"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Change is one write: everything in it is committed in one transaction
// together with its audit entries, or nothing is.
type Change struct {
	// Case is inserted when Create is set. Otherwise it replaces the stored
	// case whose Version is Case.Version-1; when the stored version differs
	// the change fails with kind tansa.Conflict.
	Case   *Case
	Create bool
	// Touch, when Case is nil, moves the Updated time of case Touch to
	// TouchAt without a version check (a task or note changed it).
	Touch   string
	TouchAt time.Time
	// Alerts are linked to the case (Case or Touch); links that exist are
	// kept.
	Alerts []string
	// Tasks are inserted or, when their ID exists, replaced.
	Tasks       []Task
	Notes       []Note
	Observables []Observable // inserted; a duplicate type and value in one case is a Conflict
	// Evidence is inserted with Content, its bytes.
	Evidence *Evidence
	Content  []byte
	Timeline []Entry // appended
	Audit    []tansa.AuditEntry
}

// Query selects cases.
type Query struct {
	Scope    access.Scope
	Phase    Phase  // exact phase; empty: any
	State    string // "open", "closed" or empty for both
	Severity string
	Assignee string // user ID; "none" selects unassigned cases
	Type     string
	Text     string // substring of the title, case-insensitive
	AlertID  string // cases linked to this alert
	// BreachedAt, when set, keeps only cases with a timer past its target
	// as of that time.
	BreachedAt time.Time
	// Sort is one of Sorts; empty means "-updated".
	Sort string
	access.Page
}

// Sorts are the orders a case list may take; a leading "-" is descending.
var Sorts = []string{"-updated", "updated", "-created", "created", "-severity", "severity", "title", "-title"}

// TrackerQuery selects the rows of the issue-tracking view: the open cases
// and their unfinished tasks.
type TrackerQuery struct {
	Scope    access.Scope
	Kind     string // "case", "task" or empty for both
	Owner    string // user ID; "none" selects rows without an owner
	Status   string // a case's phase or a task's status
	Severity string
	Text     string // substring of the title or the case's title
	// OverdueAt, when set, keeps only rows whose due time is before it.
	OverdueAt time.Time
	access.Page
}

// TrackerRow is one line of the issue-tracking view: an open case (Kind
// "case") or an unfinished task of one (Kind "task").
type TrackerRow struct {
	Kind      string    `json:"kind"`
	ID        string    `json:"id"`
	CaseID    string    `json:"case_id"`
	TenantID  string    `json:"tenant_id"`
	Title     string    `json:"title"`
	CaseTitle string    `json:"case_title"`
	Owner     string    `json:"owner,omitempty"`
	OwnerName string    `json:"owner_name,omitempty"`
	Due       time.Time `json:"due,omitzero"` // a task's due time, a case's close deadline
	Status    string    `json:"status"`
	Severity  string    `json:"severity"`
	Updated   time.Time `json:"updated"`
}

// TimesQuery selects the cases whose timers are summed: those of Scope
// created in [Since, Until).
type TimesQuery struct {
	Scope        access.Scope
	Since, Until time.Time
}

// Times are the sums behind MTTA and MTTR. Durations are summed over the
// cases whose timer stopped.
type Times struct {
	Cases        int
	Acknowledged int
	AckTotal     time.Duration
	Contained    int
	ContainTotal time.Duration
	Closed       int
	CloseTotal   time.Duration
	// Breached counts cases with a timer past its target as of Until.
	Breached int
}

// SLATarget is a tenant's response targets for cases of one severity.
// A zero duration means no target.
type SLATarget struct {
	Severity    string        `json:"severity"`
	Acknowledge time.Duration `json:"acknowledge"`
	Contain     time.Duration `json:"contain"`
	Close       time.Duration `json:"close"`
}

// Store keeps cases and everything attached to them. Implementations are
// safe for concurrent use. Lookups of a missing object return an error of
// kind tansa.NotFound.
type Store interface {
	// ApplyCase writes ch in one transaction with its audit entries.
	ApplyCase(ctx context.Context, ch Change) error
	// Case returns a case with its linked alert IDs.
	Case(ctx context.Context, id string) (Case, error)
	// Cases lists matching cases with their linked alert IDs, and their
	// total.
	Cases(ctx context.Context, q Query) ([]Case, int, error)
	// Tasks returns a case's tasks in position order.
	Tasks(ctx context.Context, caseID string) ([]Task, error)
	Task(ctx context.Context, id string) (Task, error)
	// Notes returns a case's notes, oldest first.
	Notes(ctx context.Context, caseID string) ([]Note, error)
	// Observables returns a case's observables, oldest first.
	Observables(ctx context.Context, caseID string) ([]Observable, error)
	Observable(ctx context.Context, id string) (Observable, error)
	// EvidenceList returns a case's evidence files, oldest first, without
	// their content.
	EvidenceList(ctx context.Context, caseID string) ([]Evidence, error)
	Evidence(ctx context.Context, id string) (Evidence, error)
	// EvidenceContent returns the stored bytes of evidence id.
	EvidenceContent(ctx context.Context, id string) ([]byte, error)
	// Timeline returns a case's timeline, oldest first, and its length;
	// with ref set, only the entries about that object.
	Timeline(ctx context.Context, caseID, ref string, p access.Page) ([]Entry, int, error)
	// Tracker lists the open cases and unfinished tasks, those with a due
	// time first by due time, and their total.
	Tracker(ctx context.Context, q TrackerQuery) ([]TrackerRow, int, error)
	// EachTrackerRow calls fn for every row q selects, in Tracker's order,
	// ignoring q.Page, and stops at fn's first error, which it returns.
	EachTrackerRow(ctx context.Context, q TrackerQuery, fn func(TrackerRow) error) error
	// CaseTimes sums the timers of the cases q selects.
	CaseTimes(ctx context.Context, q TimesQuery) (Times, error)

	// CaseTemplates returns a tenant's own templates.
	CaseTemplates(ctx context.Context, tenant string) ([]Template, error)
	// PutCaseTemplate stores a tenant's version of a template (t.TenantID
	// and t.Type), replacing its earlier one.
	PutCaseTemplate(ctx context.Context, t Template, at time.Time, a tansa.AuditEntry) error
	// DeleteCaseTemplate removes a tenant's version of a template.
	DeleteCaseTemplate(ctx context.Context, tenant, typ string, a tansa.AuditEntry) error
	// SLA returns a tenant's stored targets (none when it keeps the
	// defaults).
	SLA(ctx context.Context, tenant string) ([]SLATarget, error)
	// PutSLA replaces a tenant's targets.
	PutSLA(ctx context.Context, tenant string, ts []SLATarget, a tansa.AuditEntry) error
}

package cases

import (
	"slices"
	"time"
)

// Phase is where a case stands in the NIST SP 800-61 incident response
// life cycle.
type Phase string

// The phases, in the order an incident normally moves through them.
const (
	PhaseNew         Phase = "new"
	PhaseTriage      Phase = "triage"
	PhaseContainment Phase = "containment"
	PhaseEradication Phase = "eradication"
	PhaseRecovery    Phase = "recovery"
	PhaseClosed      Phase = "closed"
)

// Phases lists every phase in life-cycle order.
var Phases = []Phase{PhaseNew, PhaseTriage, PhaseContainment, PhaseEradication, PhaseRecovery, PhaseClosed}

// Valid reports whether p is a known phase.
func (p Phase) Valid() bool { return slices.Contains(Phases, p) }

// rank is p's position in Phases.
func (p Phase) rank() int { return slices.Index(Phases, p) }

// Resolution is why a case was closed.
type Resolution string

// The resolutions.
const (
	TruePositive  Resolution = "true-positive"
	Benign        Resolution = "benign" // real activity, but authorised or harmless
	FalsePositive Resolution = "false-positive"
	Duplicate     Resolution = "duplicate"
)

// Resolutions lists every resolution.
var Resolutions = []Resolution{TruePositive, Benign, FalsePositive, Duplicate}

// Valid reports whether r is a known resolution.
func (r Resolution) Valid() bool { return slices.Contains(Resolutions, r) }

// Severities are the severities a case may have, lowest first.
var Severities = []string{"low", "medium", "high", "critical"}

// ValidSeverity reports whether s is one of Severities.
func ValidSeverity(s string) bool { return slices.Contains(Severities, s) }

// Case is one incident of one tenant: what happened, who handles it, where
// it stands and what has been done.
type Case struct {
	ID          string     `json:"id"`
	TenantID    string     `json:"tenant_id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Severity    string     `json:"severity"`
	Phase       Phase      `json:"phase"`
	Resolution  Resolution `json:"resolution,omitempty"` // set while closed
	// Type is the incident type whose template made the tasks
	// ("malware", "phishing", …); empty for a case made without one.
	Type         string `json:"type,omitempty"`
	Assignee     string `json:"assignee,omitempty"`      // user ID
	AssigneeName string `json:"assignee_name,omitempty"` // the user's name when assigned, for lists and exports
	// AlertIDs are the tansa.Alert IDs linked to the case.
	AlertIDs []string `json:"alert_ids"`
	// Reopened counts how often the case was reopened after closing.
	Reopened int `json:"reopened"`
	// The timers' stops: when the case was first acknowledged (left new or
	// was assigned), first contained (moved past containment) and last
	// closed. Zero while the timer runs.
	Acknowledged time.Time `json:"acknowledged,omitzero"`
	Contained    time.Time `json:"contained,omitzero"`
	Closed       time.Time `json:"closed,omitzero"`
	// The timers' deadlines from the tenant's SLA targets for the case's
	// severity, set at creation and when the severity changes.
	AckDue     time.Time `json:"ack_due,omitzero"`
	ContainDue time.Time `json:"contain_due,omitzero"`
	CloseDue   time.Time `json:"close_due,omitzero"`
	Creator    string    `json:"creator"` // as in the audit log ("user:alice", "system:playbook")
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
	// Version grows with every change; an update made from an older
	// version fails with kind tansa.Conflict.
	Version int `json:"version"`
}

// Open reports whether the case is not closed.
func (c Case) Open() bool { return c.Phase != PhaseClosed }

// Timer is one of a case's clocks against its SLA target.
type Timer struct {
	Name     string        `json:"name"` // "acknowledge", "contain" or "close"
	Due      time.Time     `json:"due,omitzero"`
	Stopped  time.Time     `json:"stopped,omitzero"` // zero while running
	Elapsed  time.Duration `json:"elapsed"`          // to the stop, or to now while running
	Breached bool          `json:"breached"`
}

// Timers returns the case's three timers as of now.
func (c Case) Timers(now time.Time) []Timer {
	mk := func(name string, due, stop time.Time) Timer {
		t := Timer{Name: name, Due: due, Stopped: stop}
		end := stop
		if end.IsZero() {
			end = now
			// A closed case stops every clock that was still running.
			if !c.Open() && !c.Closed.IsZero() {
				end = c.Closed
			}
		}
		t.Elapsed = end.Sub(c.Created)
		t.Breached = !due.IsZero() && end.After(due)
		return t
	}
	return []Timer{
		mk("acknowledge", c.AckDue, c.Acknowledged),
		mk("contain", c.ContainDue, c.Contained),
		mk("close", c.CloseDue, c.Closed),
	}
}

// Breached reports whether any timer is past its target as of now.
func (c Case) Breached(now time.Time) bool {
	for _, t := range c.Timers(now) {
		if t.Breached {
			return true
		}
	}
	return false
}

// BreachAt returns the time from which the case counts as breached, as
// Breached reports it: the earliest deadline of a timer still running, or
// the zero Unix time (1970) when a timer already stopped past its
// deadline, since that breach holds at any time. ok is false when no timer
// can breach any more (every timer without a target or stopped in time).
// Stores keep it beside the case so that the breached filter is an index
// range instead of a computation on every case.
func (c Case) BreachAt() (at time.Time, ok bool) {
	for _, t := range c.Timers(time.Time{}) {
		if t.Due.IsZero() {
			continue
		}
		stop := t.Stopped
		if stop.IsZero() && !c.Open() && !c.Closed.IsZero() {
			stop = c.Closed
		}
		var from time.Time
		switch {
		case stop.IsZero():
			from = t.Due
		case stop.After(t.Due):
			from = time.Unix(0, 0).UTC()
		default:
			continue
		}
		if !ok || from.Before(at) {
			at, ok = from, true
		}
	}
	return at, ok
}

// TaskStatus is where a task stands.
type TaskStatus string

// The task statuses.
const (
	TaskOpen       TaskStatus = "open"
	TaskInProgress TaskStatus = "in-progress"
	TaskDone       TaskStatus = "done"
	TaskSkipped    TaskStatus = "skipped" // not applicable to this incident
)

// TaskStatuses lists every task status.
var TaskStatuses = []TaskStatus{TaskOpen, TaskInProgress, TaskDone, TaskSkipped}

// Valid reports whether s is a known status.
func (s TaskStatus) Valid() bool { return slices.Contains(TaskStatuses, s) }

// Finished reports whether s ends the task.
func (s TaskStatus) Finished() bool { return s == TaskDone || s == TaskSkipped }

// Task is one thing to do for a case, from its template or added by hand.
type Task struct {
	ID          string     `json:"id"`
	CaseID      string     `json:"case_id"`
	TenantID    string     `json:"tenant_id"`
	Position    int        `json:"position"`
	Phase       Phase      `json:"phase,omitempty"` // the phase the task belongs to
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Status      TaskStatus `json:"status"`
	Owner       string     `json:"owner,omitempty"`      // user ID
	OwnerName   string     `json:"owner_name,omitempty"` // the user's name
	Due         time.Time  `json:"due,omitzero"`
	Completed   time.Time  `json:"completed,omitzero"`
	Created     time.Time  `json:"created"`
	Updated     time.Time  `json:"updated"`
}

// Note is a free-text remark on a case.
type Note struct {
	ID       string    `json:"id"`
	CaseID   string    `json:"case_id"`
	TenantID string    `json:"tenant_id"`
	Author   string    `json:"author"` // as in the audit log
	Body     string    `json:"body"`
	Created  time.Time `json:"created"`
}

// Observable is a value seen in an incident (an address, a domain, a
// hash…) that the responders track and check against intelligence.
type Observable struct {
	ID          string    `json:"id"`
	CaseID      string    `json:"case_id"`
	TenantID    string    `json:"tenant_id"`
	Type        string    `json:"type"` // an intel.Type: ipv4, domain, sha256, …
	Value       string    `json:"value"`
	Description string    `json:"description,omitempty"`
	Creator     string    `json:"creator"`
	Created     time.Time `json:"created"`
}

// Evidence is a file kept for a case. Its content is stored beside it and
// never changes; SHA256 is of that content, taken at upload.
type Evidence struct {
	ID          string    `json:"id"`
	CaseID      string    `json:"case_id"`
	TenantID    string    `json:"tenant_id"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"` // as the uploader declared it; never used to serve it
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Description string    `json:"description,omitempty"`
	Uploader    string    `json:"uploader"`
	Uploaded    time.Time `json:"uploaded"`
}

// Entry is one line of a case's timeline: something that happened to it.
// Entries are append-only.
type Entry struct {
	ID       int64     `json:"id"`
	CaseID   string    `json:"case_id"`
	TenantID string    `json:"tenant_id"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"` // as in the audit log
	Addr     string    `json:"addr,omitempty"`
	// Kind says what happened: "case.create", "case.update", "case.phase",
	// "case.reopen", "alert.link", "task.add", "task.update", "note.add",
	// "observable.add", "observable.retro-hunt", "evidence.upload",
	// "evidence.download", or a playbook's own ("playbook.step").
	Kind string `json:"kind"`
	// Ref is the ID of the task, note, observable or evidence concerned.
	Ref string `json:"ref,omitempty"`
	// Text is what a person reads on the timeline.
	Text string `json:"text"`
}

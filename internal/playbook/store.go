package playbook

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
)

// Playbook is a stored playbook: its current version's source and whether
// it runs. Every saved change of Source is a new Version; runs name the
// version they run, so editing never changes a run in flight.
type Playbook struct {
	ID       string    `json:"id"`
	TenantID string    `json:"tenant_id"`
	Name     string    `json:"name"`
	Version  int       `json:"version"`
	Enabled  bool      `json:"enabled"`
	Source   string    `json:"source"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	// UpdatedBy is who saved the current version ("user:alice").
	UpdatedBy string `json:"updated_by"`
}

// PlaybookQuery selects playbooks by name.
type PlaybookQuery struct {
	Scope access.Scope
	Text  string // substring of the name, case-insensitive
	access.Page
}

// Run is one execution of one version of a playbook.
type Run struct {
	ID         string `json:"id"`
	TenantID   string `json:"tenant_id"`
	PlaybookID string `json:"playbook_id"`
	Playbook   string `json:"playbook"` // its name when the run started
	Version    int    `json:"version"`
	Status     string `json:"status"`
	DryRun     bool   `json:"dry_run"`
	// Trigger is "alert" or "manual"; TriggerKey deduplicates: one run per
	// playbook and alert.
	Trigger    string          `json:"trigger"`
	TriggerKey string          `json:"-"`
	AlertID    string          `json:"alert_id,omitempty"`
	Alert      json.RawMessage `json:"alert"` // the facts conditions saw (AlertFacts)
	CaseID     string          `json:"case_id,omitempty"`
	StartedBy  string          `json:"started_by"`
	Cursor     int             `json:"cursor"` // index of the next step
	WakeAt     time.Time       `json:"wake_at,omitzero"`
	Error      string          `json:"error,omitempty"`
	Created    time.Time       `json:"created"`
	Updated    time.Time       `json:"updated"`
	// Steps are the step records, in order of execution; filled by
	// Store.Run, not by Store.Runs.
	Steps []StepRecord `json:"steps,omitempty"`
}

// RunQuery selects runs, newest first.
type RunQuery struct {
	Scope      access.Scope
	PlaybookID string
	Status     string
	access.Page
}

// RunUpdate is the part of a run that moves with each step.
type RunUpdate struct {
	Status  string
	Cursor  int
	WakeAt  time.Time
	Error   string
	CaseID  string
	Updated time.Time
}

// Connector is a tenant's configured outside service: an EDR, a mail
// server, a chat webhook, a generic webhook. Secret holds the credentials
// sealed (see Sealer); it never leaves the service unsealed.
type Connector struct {
	TenantID  string            `json:"tenant_id"`
	Name      string            `json:"name"`
	Kind      string            `json:"kind"`
	Config    map[string]string `json:"config"`
	Secret    []byte            `json:"-"`
	Updated   time.Time         `json:"updated"`
	UpdatedBy string            `json:"updated_by"`
}

// Block is a value a playbook (or a person) put on a tenant's block list.
type Block struct {
	TenantID string    `json:"tenant_id"`
	Type     string    `json:"type"` // ip, cidr, domain or url (intel types)
	Value    string    `json:"value"`
	Reason   string    `json:"reason,omitempty"`
	RunID    string    `json:"run_id,omitempty"`
	StepID   string    `json:"step_id,omitempty"`
	Actor    string    `json:"actor"`
	Created  time.Time `json:"created"`
}

// Store keeps playbooks with their versions, runs with their step
// records, connectors and block-list entries. Implementations are safe for
// concurrent use. Lookups of a missing object return tansa.NotFound.
type Store interface {
	// CreatePlaybook stores pb as its version 1; a playbook of the same
	// tenant and name is a tansa.Conflict.
	CreatePlaybook(ctx context.Context, pb Playbook) error
	// UpdatePlaybook stores pb over the playbook of its ID if its version
	// is still prev (else tansa.Conflict); a changed Source is kept as a
	// new version, pb.Version.
	UpdatePlaybook(ctx context.Context, pb Playbook, prev int) error
	Playbook(ctx context.Context, id string) (Playbook, error)
	// PlaybookSource returns the source of one version.
	PlaybookSource(ctx context.Context, id string, version int) (string, error)
	Playbooks(ctx context.Context, q PlaybookQuery) ([]Playbook, int, error)
	// EnabledPlaybooks returns every tenant's enabled playbooks.
	EnabledPlaybooks(ctx context.Context) ([]Playbook, error)

	// CreateRun stores a new run; it reports false, storing nothing, when
	// a run of the same playbook with the same TriggerKey exists.
	CreateRun(ctx context.Context, r Run) (bool, error)
	// Run returns a run with its step records.
	Run(ctx context.Context, id string) (Run, error)
	Runs(ctx context.Context, q RunQuery) ([]Run, int, error)
	// DueRuns returns up to limit IDs of runs that are running, or waiting
	// with WakeAt at or before now, oldest first.
	DueRuns(ctx context.Context, now time.Time, limit int) ([]string, error)
	// SaveStep stores rec (when not nil; replacing the record of the same
	// step) and u in one transaction.
	SaveStep(ctx context.Context, runID string, rec *StepRecord, u RunUpdate) error
	// ClaimRun takes the lease of a run for owner until the given time,
	// if nobody else holds an unexpired one at now.
	ClaimRun(ctx context.Context, id, owner string, until, now time.Time) (bool, error)
	// ReleaseRun gives up owner's lease; ReleaseAll every lease (a single
	// node starting up: the leases are its own dead process's).
	ReleaseRun(ctx context.Context, id, owner string) error
	ReleaseAll(ctx context.Context) error

	PutConnector(ctx context.Context, c Connector) error
	Connector(ctx context.Context, tenant, name string) (Connector, error)
	// Connectors lists the connectors of the tenants in scope, by tenant
	// and name.
	Connectors(ctx context.Context, scope access.Scope) ([]Connector, error)
	DeleteConnector(ctx context.Context, tenant, name string) error

	// PutBlock adds b, reporting false when the value was already blocked.
	PutBlock(ctx context.Context, b Block) (bool, error)
	// RemoveBlock removes a value, reporting false when it was not there.
	RemoveBlock(ctx context.Context, tenant, typ, value string) (bool, error)
	// Blocks lists the values blocked for tenant.
	Blocks(ctx context.Context, tenant string) ([]Block, error)
}

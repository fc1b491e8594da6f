// Package fleet is the server side of endpoint sweeps: it receives the
// sealed results that `tansa scan` uploads (or that a person uploads from
// the console for a site without network), keeps them per endpoint, and
// answers the fleet views — asset inventory, coverage, campaigns,
// prevalence ("exists on 1 of 20,000 machines"), the diff between two
// sweeps, and the shared review of findings whose benign verdicts become
// exceptions that the next scan packages carry.
//
// Results enter through Service.Upload: decrypted with the server's age
// identity (Keys), validated, refused when replayed or claiming another
// tenant, and stored by the Store in one transaction with their audit
// entry. Findings leave as tansa.Alert (kind sweep) through the Alerts
// consumer interface. Scan packages leave through Service.Package, which
// appends a configuration signed with the server's ed25519 key to a
// platform binary of the release build.
package fleet

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/scan/result"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Asset is one endpoint of a tenant, known from its sweeps or registered
// as expected (an inventory import) before its first sweep.
type Asset struct {
	ID       string    `json:"id"`
	TenantID string    `json:"tenant_id"`
	Hostname string    `json:"hostname"`
	Domain   string    `json:"domain,omitempty"`
	OS       string    `json:"os,omitempty"`
	Arch     string    `json:"arch,omitempty"`
	Product  string    `json:"product,omitempty"`
	Version  string    `json:"version,omitempty"`
	IPs      []string  `json:"ips"`
	Created  time.Time `json:"created"`
	// LastSeen is when the last sweep was received; zero when never swept.
	LastSeen  time.Time `json:"last_seen,omitzero"`
	LastSweep string    `json:"last_sweep,omitempty"`
	Sweeps    int       `json:"sweeps"`
	// Findings and MaxScore describe the last sweep.
	Findings int `json:"findings"`
	MaxScore int `json:"max_score"`
}

// Sweep is one stored result's summary; the result itself is fetched with
// Store.SweepResult.
type Sweep struct {
	ID       string    `json:"id"`
	TenantID string    `json:"tenant_id"`
	AssetID  string    `json:"asset_id"`
	Hostname string    `json:"hostname"`
	Campaign string    `json:"campaign,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Received time.Time `json:"received"`
	Scanner  string    `json:"scanner"`
	Actor    string    `json:"actor"`
	// Bytes is the size of the sealed upload.
	Bytes    int `json:"bytes"`
	Findings int `json:"findings"`
	MaxScore int `json:"max_score"`
	Errors   int `json:"errors"`
}

// Finding is one finding of a stored sweep, with the review state of its
// key in its tenant.
type Finding struct {
	ID       string         `json:"id"` // sweep ID and index: "SWEEP:N"
	TenantID string         `json:"tenant_id"`
	AssetID  string         `json:"asset_id"`
	SweepID  string         `json:"sweep_id"`
	Hostname string         `json:"hostname"`
	Time     time.Time      `json:"time"`
	Key      string         `json:"key"`
	Finding  result.Finding `json:"finding"`
	Verdict  Verdict        `json:"verdict,omitempty"`
}

// Verdict is a review's judgement of a finding key.
type Verdict string

// The verdicts. A comment without a verdict leaves the verdict unchanged.
const (
	VerdictNone      Verdict = ""
	VerdictBenign    Verdict = "benign"
	VerdictMalicious Verdict = "malicious"
)

// Review is one comment, with or without a verdict, on a finding key of a
// tenant. Reviews are append-only; the latest verdict counts.
type Review struct {
	ID       string    `json:"id"`
	TenantID string    `json:"tenant_id"`
	Key      string    `json:"key"`
	Verdict  Verdict   `json:"verdict,omitempty"`
	Comment  string    `json:"comment"`
	Actor    string    `json:"actor"`
	Time     time.Time `json:"time"`
}

// Artifact is something counted across the fleet: an autorun, a process
// path, a hash, a service.
type Artifact struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// The artifact kinds prevalence counts.
const (
	KindAutorun = "autorun"
	KindProcess = "process"
	KindHash    = "hash"
	KindService = "service"
)

// ArtifactKinds lists the kinds in the order the console shows them.
var ArtifactKinds = []string{KindAutorun, KindProcess, KindHash, KindService}

// Prevalence is how many endpoints of the scope have an artifact in their
// latest sweep.
type Prevalence struct {
	Artifact
	ID     string `json:"id"` // opaque handle of the artifact, for the endpoints that have it
	Assets int    `json:"assets"`
}

// Campaign is a sweep campaign: one-shot (Interval zero) or periodic.
// Progress counts the tenant's endpoints swept within the campaign (since
// Start, or within the current Interval for a periodic one).
type Campaign struct {
	ID       string        `json:"id"`
	TenantID string        `json:"tenant_id"`
	Name     string        `json:"name"`
	Start    time.Time     `json:"start"`
	Interval time.Duration `json:"interval"`
	Created  time.Time     `json:"created"`
	Creator  string        `json:"creator"`
}

// Coverage counts a scope's endpoints by when they were last swept.
type Coverage struct {
	Days   int `json:"days"`
	Total  int `json:"total"`
	Recent int `json:"recent"` // swept within Days
	Stale  int `json:"stale"`  // swept, but longer ago
	Never  int `json:"never"`  // registered and never swept
}

// AssetQuery selects assets.
type AssetQuery struct {
	Scope access.Scope
	Text  string // substring of the hostname
	// Swept filters by coverage: "recent", "stale" or "never" relative to
	// Since; empty means all.
	Swept string
	Since time.Time
	// Artifact, when set, keeps the assets whose latest sweep has it.
	Artifact string
	access.Page
}

// SweepQuery selects sweeps, newest first.
type SweepQuery struct {
	Scope    access.Scope
	AssetID  string
	Campaign string
	access.Page
}

// FindingQuery selects findings of the latest sweep of each asset,
// highest score first.
type FindingQuery struct {
	Scope    access.Scope
	AssetID  string
	SweepID  string
	MinScore int
	Key      string
	access.Page
}

// PrevalenceQuery selects artifacts, rarest first.
type PrevalenceQuery struct {
	Scope access.Scope
	Kind  string
	Text  string
	access.Page
}

// StoredSweep is what Upload hands the store.
type StoredSweep struct {
	Sweep    Sweep
	Asset    Asset // identity (tenant, hostname, domain) and the facts to update
	Sealed   []byte
	Findings []Finding
	// Artifacts is the set of the sweep's artifacts; they replace the
	// asset's previous set when the sweep is its newest.
	Artifacts []Artifact
	// Observables are the sweep's values retro-hunts look up (Observables).
	Observables []string
}

// Store keeps assets, sweeps, findings, reviews, campaigns and the
// prevalence counts. Implementations are safe for concurrent use; lookups
// of a missing object return an error of kind tansa.NotFound.
type Store interface {
	// PutSweep stores s, creating or updating its asset (filling in
	// s.Sweep.AssetID), replacing the asset's artifacts and prevalence
	// counts when s is the asset's newest sweep, with audit a, in one
	// transaction. A sweep ID already stored is a tansa.Conflict.
	PutSweep(ctx context.Context, s *StoredSweep, a tansa.AuditEntry) error
	Asset(ctx context.Context, id string) (Asset, error)
	Assets(ctx context.Context, q AssetQuery) ([]Asset, int, error)
	// RegisterAssets adds expected endpoints by hostname to tenant;
	// existing ones are left alone. It returns how many were new.
	RegisterAssets(ctx context.Context, tenant string, hostnames []string, at time.Time, a tansa.AuditEntry) (int, error)
	Sweep(ctx context.Context, id string) (Sweep, error)
	// SweepSealed returns the stored upload, still sealed.
	SweepSealed(ctx context.Context, id string) ([]byte, error)
	Sweeps(ctx context.Context, q SweepQuery) ([]Sweep, int, error)
	Findings(ctx context.Context, q FindingQuery) ([]Finding, int, error)
	Coverage(ctx context.Context, sc access.Scope, since time.Time) (Coverage, error)
	Prevalence(ctx context.Context, q PrevalenceQuery) ([]Prevalence, int, error)
	// ArtifactOf returns the artifact behind a Prevalence ID.
	ArtifactOf(ctx context.Context, id string) (Artifact, error)
	AddReview(ctx context.Context, r Review, a tansa.AuditEntry) error
	Reviews(ctx context.Context, tenant, key string) ([]Review, error)
	// Exceptions returns the keys of tenant whose latest verdict is benign.
	Exceptions(ctx context.Context, tenant string) ([]result.Exception, error)
	CreateCampaign(ctx context.Context, c Campaign, a tansa.AuditEntry) error
	Campaign(ctx context.Context, id string) (Campaign, error)
	Campaigns(ctx context.Context, sc access.Scope, p access.Page) ([]Campaign, int, error)
	// CampaignSwept counts the distinct assets of the campaign's tenant
	// with a sweep of the campaign received since since.
	CampaignSwept(ctx context.Context, c Campaign, since time.Time) (int, error)
	AppendAudit(ctx context.Context, a tansa.AuditEntry) error
}

// Alerts receives the alerts that sweep findings raise; *alert.Service
// implements it.
type Alerts interface {
	Raise(ctx context.Context, alerts []tansa.Alert) error
}

func jsonOf(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

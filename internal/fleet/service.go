package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"filippo.io/age"
	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/scan"
	"github.com/tansa-sec/tansa/internal/scan/ioc"
	"github.com/tansa-sec/tansa/internal/scan/result"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Tenants tells whether a caller may reach a tenant; *access.Service
// implements it.
type Tenants interface {
	Tenant(ctx context.Context, c access.Caller, id string) (tansa.Tenant, error)
}

// Options tune the service. Zero fields take the defaults in parentheses.
type Options struct {
	// Keys are the server's key pairs (required).
	Keys *Keys
	// Alerts receives the alerts of findings; nil raises none.
	Alerts Alerts
	// AlertScore is the lowest finding score that raises an alert (40).
	AlertScore int
	// MaxSealed bounds an upload (16 MiB); MaxResult its decompressed
	// JSON (64 MiB).
	MaxSealed int64
	MaxResult int64
	// Binaries is the directory of platform binaries packages are built
	// from; empty means no packages can be built.
	Binaries string
	// ServerURL is the base URL scanners upload to, written into packages.
	ServerURL string
	// IOCs returns the indicators a tenant's packages carry; nil gives
	// packages without indicators.
	IOCs func(ctx context.Context, tenant string) ([]ioc.Indicator, error)
	// RefusalEvery is how often the same refusal (actor, address, code and
	// reason) is audited (1m); the refusals in between are counted in the
	// next row, so a scanner retrying with a revoked token cannot fill the
	// audit log.
	RefusalEvery time.Duration
	Logger       *slog.Logger
	Now          func() time.Time // (time.Now)
}

// Service enforces permissions and tenant walls over a Store. It is safe
// for concurrent use.
type Service struct {
	store    Store
	tenants  Tenants
	opt      Options
	refusals refusalLimiter
}

// refusalLimiter remembers when each kind of refusal was last audited.
type refusalLimiter struct {
	mu   sync.Mutex
	seen map[string]*refusalSeen
}

type refusalSeen struct {
	last       time.Time
	suppressed int
}

// maxRefusalKeys bounds the limiter's memory: past it, entries older than
// the window are dropped, and if that is not enough, all of them.
const maxRefusalKeys = 10_000

// allow reports whether the refusal key may be audited at now, and how
// many of the same were left out since the last row.
func (l *refusalLimiter) allow(key string, now time.Time, every time.Duration) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]*refusalSeen{}
	}
	if e, ok := l.seen[key]; ok && now.Sub(e.last) < every {
		e.suppressed++
		return false, 0
	}
	if len(l.seen) >= maxRefusalKeys {
		for k, e := range l.seen {
			if now.Sub(e.last) >= every {
				delete(l.seen, k)
			}
		}
		if len(l.seen) >= maxRefusalKeys {
			clear(l.seen)
		}
	}
	n := 0
	if e, ok := l.seen[key]; ok {
		n = e.suppressed
	}
	l.seen[key] = &refusalSeen{last: now}
	return true, n
}

// variablePart matches what differs between two instances of the same
// refusal (sweep IDs, sizes, offsets), so they share a limiter key.
var variablePart = regexp.MustCompile(`[0-9a-fA-F]{8,}|[0-9]+`)

// auditRefusal appends the audit row of a refused upload unless the same
// refusal was audited within RefusalEvery.
func (s *Service) auditRefusal(ctx context.Context, a tansa.AuditEntry, cause error) error {
	reason, code := tansa.MessageOf(cause), tansa.KindOf(cause).String()
	key := a.Actor + "|" + a.Addr + "|" + a.TenantID + "|" + code + "|" + variablePart.ReplaceAllString(reason, "#")
	ok, suppressed := s.refusals.allow(key, a.Time, s.opt.RefusalEvery)
	if !ok {
		return nil
	}
	after := map[string]any{"reason": reason, "code": code}
	if suppressed > 0 {
		after["suppressed"] = suppressed // the same refusals since the last row, not audited one by one
	}
	a.After = jsonOf(after)
	return s.store.AppendAudit(ctx, a)
}

// New returns a service over store.
func New(store Store, tenants Tenants, opt Options) (*Service, error) {
	if opt.Keys == nil {
		return nil, errors.New("fleet: no keys")
	}
	if opt.AlertScore == 0 {
		opt.AlertScore = 40
	}
	if opt.MaxSealed == 0 {
		opt.MaxSealed = 16 << 20
	}
	if opt.MaxResult == 0 {
		opt.MaxResult = 64 << 20
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.RefusalEvery == 0 {
		opt.RefusalEvery = time.Minute
	}
	return &Service{store: store, tenants: tenants, opt: opt}, nil
}

// Recipient is the age public key results are sealed to.
func (s *Service) Recipient() string { return s.opt.Keys.Recipient() }

// SignerPublic is the package-signing ed25519 public key, base64.
func (s *Service) SignerPublic() string { return s.opt.Keys.SignerPublic() }

// MaxSealed is the largest upload accepted, in bytes.
func (s *Service) MaxSealed() int64 { return s.opt.MaxSealed }

func (s *Service) now() time.Time { return s.opt.Now().UTC().Truncate(time.Microsecond) }

// visible reports whether c may see an object of tenant.
func visible(c access.Caller, tenant string) bool {
	return tenant != "" && c.CanAccess(tenant) && (c.Current == "" || c.Current == tenant)
}

func scopeOf(c access.Caller, asked access.Scope) access.Scope {
	sc := c.Scope()
	if len(asked.Tenants) == 1 {
		sc = sc.Narrow(asked.Tenants[0])
	}
	sc.Provider = false
	return sc
}

// reach resolves the one tenant a request acts in: asked when c may reach
// it, else c's own or current tenant. A provider working across tenants
// must name one.
func (s *Service) reach(ctx context.Context, c access.Caller, asked string) (string, error) {
	if asked == "" {
		if c.Current != "" && c.CanAccess(c.Current) {
			return c.Current, nil
		}
		if c.TenantID != "" && !c.Role.Provider() {
			return c.TenantID, nil
		}
		return "", tansa.Errorf(tansa.Invalid, "tenant: name the tenant (?tenant=ID)")
	}
	if c.Current != "" && c.Current != asked {
		return "", tansa.Errorf(tansa.NotFound, "tenant %q not found", asked)
	}
	t, err := s.tenants.Tenant(ctx, c, asked)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

func (s *Service) audit(c access.Caller, action, typ, id, tenant string, after any) tansa.AuditEntry {
	a := tansa.AuditEntry{Time: s.now(), TenantID: tenant, Actor: c.Kind + ":" + c.Name, Addr: c.Addr,
		Action: action, ObjectType: typ, ObjectID: id}
	if after != nil {
		a.After = jsonOf(after)
	}
	return a
}

// ---- upload

// UploadInput is one upload: the sealed result and what the request said
// about it.
type UploadInput struct {
	Sealed io.Reader
	// IdempotencyKey is the scanner's Idempotency-Key header (its sweep
	// ID); when given it must match the result.
	IdempotencyKey string
	// Tenant names the tenant of a console upload; an enrolment token
	// always uploads into its own.
	Tenant string
	// Source says how the result came ("upload" or "console").
	Source string
}

var sweepIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Upload opens, validates and stores one sealed sweep result. An
// enrolment token (scanner role) uploads into its own tenant; a person
// with fleet.write uploads an offline --out file into the tenant named by
// in.Tenant (or their own). Every refusal — not sealed, sealed to another
// server, truncated or altered, invalid, replayed, claiming another
// tenant — is an error with a kind and a message saying which, and is
// audited.
func (s *Service) Upload(ctx context.Context, c access.Caller, in UploadInput) (Sweep, error) {
	var tenant string
	switch {
	case c.Can(access.PermSweepUpload):
		if c.TenantID == "" {
			return Sweep{}, tansa.Errorf(tansa.Forbidden, "the enrolment token belongs to no tenant")
		}
		tenant = c.TenantID
	case c.Can(access.PermFleetWrite):
		t, err := s.reach(ctx, c, in.Tenant)
		if err != nil {
			return Sweep{}, err
		}
		tenant = t
	default:
		return Sweep{}, tansa.Errorf(tansa.Forbidden, "your role %s may not upload sweep results", c.Role)
	}
	sw, err := s.upload(ctx, c, tenant, in)
	if err != nil {
		ref := in.IdempotencyKey
		if !sweepIDRE.MatchString(ref) {
			ref = ""
		}
		if k := tansa.KindOf(err); k != tansa.Internal {
			if aerr := s.auditRefusal(ctx, s.audit(c, "sweep.refuse", "sweep", ref, tenant, nil), err); aerr != nil {
				s.opt.Logger.Warn("audit a refused sweep", "err", aerr)
			}
		}
		return Sweep{}, err
	}
	return sw, nil
}

func (s *Service) upload(ctx context.Context, c access.Caller, tenant string, in UploadInput) (Sweep, error) {
	sealed, err := io.ReadAll(io.LimitReader(in.Sealed, s.opt.MaxSealed+1))
	if err != nil {
		return Sweep{}, tansa.Errorf(tansa.Invalid, "read the upload: %v", err)
	}
	if int64(len(sealed)) > s.opt.MaxSealed {
		return Sweep{}, tansa.Errorf(tansa.TooLarge, "the upload exceeds %d bytes", s.opt.MaxSealed)
	}
	r, err := s.Open(sealed)
	if err != nil {
		return Sweep{}, err
	}
	if err := Validate(r); err != nil {
		return Sweep{}, err
	}
	if in.IdempotencyKey != "" && in.IdempotencyKey != r.SweepID {
		return Sweep{}, tansa.Errorf(tansa.Invalid, "Idempotency-Key %q is not the result's sweep ID", in.IdempotencyKey)
	}
	if r.Tenant != "" && r.Tenant != tenant {
		// The claimed tenant is not echoed: it may name a tenant the
		// caller should not learn exists.
		return Sweep{}, tansa.Errorf(tansa.Forbidden, "the result was made by a scan package of another tenant than the one it is uploaded to; refused")
	}
	now := s.now()
	st := Build(r, tenant, sealed, now, c.Kind+":"+c.Name)
	a := s.audit(c, "sweep.upload", "sweep", r.SweepID, tenant, map[string]any{
		"hostname": r.Host.Hostname, "findings": len(r.Findings), "bytes": len(sealed), "source": cmp(in.Source, "upload")})
	if err := s.store.PutSweep(ctx, st, a); err != nil {
		if tansa.KindOf(err) == tansa.Conflict {
			return Sweep{}, tansa.Errorf(tansa.Conflict, "sweep %s was already received; a replayed upload is not stored twice", r.SweepID)
		}
		return Sweep{}, err
	}
	s.raise(ctx, st)
	return st.Sweep, nil
}

// Open decrypts and decodes a sealed result, saying which of the ways a
// file can be bad this one is.
func (s *Service) Open(sealed []byte) (*result.Result, error) {
	// One decryption: scan.Open wraps age's errors, so the header's
	// (another server's key, not age at all) are told apart from the
	// payload's here.
	r, err := scan.Open(bytes.NewReader(sealed), s.opt.Keys.Identity, s.opt.MaxResult)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, tansa.Errorf(tansa.Invalid, "the result is sealed to another server's key (a foreign file); this server's key is %s", s.Recipient())
		}
		var oe *scan.OpenError
		if !errors.As(err, &oe) {
			return nil, err
		}
		switch oe.Stage {
		case scan.OpenDecrypt:
			return nil, tansa.Errorf(tansa.Invalid, "the upload is not a sealed Tansa sweep (an age-encrypted file): %v", oe.Err)
		case scan.OpenTooLarge:
			return nil, tansa.Errorf(tansa.TooLarge, "%s", oe)
		case scan.OpenDecode:
			return nil, tansa.Errorf(tansa.Invalid, "the result's JSON is invalid (decode: %v)", oe.Err)
		}
		return nil, tansa.Errorf(tansa.Invalid, "the result is truncated or was altered after sealing (decompress: %v)", oe.Err)
	}
	return r, nil
}

// Validate checks what the server relies on in a decoded result.
func Validate(r *result.Result) error {
	bad := func(format string, args ...any) error {
		return tansa.Errorf(tansa.Invalid, "result: "+format, args...)
	}
	switch {
	case r.Schema != result.SchemaVersion:
		return bad("schema %d is not %d; upgrade the scanner or the server", r.Schema, result.SchemaVersion)
	case !sweepIDRE.MatchString(r.SweepID):
		return bad("sweep_id %q is not 32 lowercase hex digits", clip(r.SweepID, 80))
	case r.Host.Hostname == "" || len(r.Host.Hostname) > 255 || strings.IndexFunc(r.Host.Hostname, unicode.IsControl) >= 0:
		return bad("host.hostname %q is empty, longer than 255 bytes or has control characters", clip(r.Host.Hostname, 80))
	case len(r.Host.Domain) > 255:
		return bad("host.domain is longer than 255 bytes")
	case r.Started.IsZero() || r.Finished.Before(r.Started):
		return bad("started %s and finished %s are missing or out of order", r.Started, r.Finished)
	case len(r.Findings) > 100_000:
		return bad("%d findings is more than a sweep can make", len(r.Findings))
	}
	for i, f := range r.Findings {
		if f.Rule == "" || f.Score < 0 || f.Score > 100 {
			return bad("findings[%d]: rule %q with score %d (rule required, score 0–100)", i, clip(f.Rule, 80), f.Score)
		}
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Build turns a validated result into what the store keeps.
func Build(r *result.Result, tenant string, sealed []byte, received time.Time, actor string) *StoredSweep {
	maxScore := 0
	for _, f := range r.Findings {
		maxScore = max(maxScore, f.Score)
	}
	st := &StoredSweep{
		Sweep: Sweep{ID: r.SweepID, TenantID: tenant, Hostname: r.Host.Hostname, Campaign: clip(r.Campaign, 100),
			Started: r.Started.UTC(), Finished: r.Finished.UTC(), Received: received, Scanner: clip(r.Scanner, 200), Actor: actor,
			Bytes: len(sealed), Findings: len(r.Findings), MaxScore: maxScore, Errors: len(r.Errors)},
		Asset: Asset{TenantID: tenant, Hostname: r.Host.Hostname, Domain: r.Host.Domain, OS: r.Host.OS, Arch: r.Host.Arch,
			Product: clip(r.Host.Product, 200), Version: clip(r.Host.Version, 100), IPs: r.Host.IPs,
			LastSeen: received, LastSweep: r.SweepID, Findings: len(r.Findings), MaxScore: maxScore},
		Sealed: sealed,
	}
	if st.Asset.IPs == nil {
		st.Asset.IPs = []string{}
	}
	for i, f := range r.Findings {
		st.Findings = append(st.Findings, Finding{ID: fmt.Sprintf("%s:%d", r.SweepID, i), TenantID: tenant, SweepID: r.SweepID,
			Hostname: r.Host.Hostname, Time: r.Started.UTC(), Key: f.Key(), Finding: f})
	}
	st.Artifacts = Artifacts(r)
	st.Observables = Observables(r)
	return st
}

// maxObservables bounds what one sweep adds to the retro-hunt index.
const maxObservables = 20_000

// Observables returns the distinct values of r that a retro-hunt looks
// up when indicators arrive later, in the normal form of the event
// observable index so that one indicator value finds both: the SHA-256 of
// process executables and recorded files (lower-case hex), the remote
// addresses of connections and the addresses in the DNS cache and hosts
// file (canonical text, IPv4-mapped IPv6 unmapped), and the names there
// (lower case, without a trailing dot). Loopback and unspecified
// addresses and localhost names are left out: no indicator names them.
func Observables(r *result.Result) []string {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if v != "" && len(v) <= 1000 && !seen[v] && len(out) < maxObservables {
			seen[v] = true
			out = append(out, v)
		}
	}
	hash := func(h string) {
		h = strings.ToLower(h)
		if len(h) == 64 && strings.Trim(h, "0123456789abcdef") == "" {
			add(h)
		}
	}
	ip := func(s string) bool {
		a, err := netip.ParseAddr(strings.Trim(s, "[]"))
		if err != nil {
			return false
		}
		if a = a.Unmap(); !a.IsLoopback() && !a.IsUnspecified() {
			add(a.WithZone("").String())
		}
		return true
	}
	for _, p := range r.Processes {
		hash(p.SHA256)
	}
	for _, f := range r.Files {
		hash(f.SHA256)
	}
	for _, c := range r.Connections {
		if c.RemoteAddr != "" {
			ip(c.RemoteAddr)
		}
	}
	for _, d := range r.DNS {
		if d.Address != "" {
			ip(d.Address)
		}
		name := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d.Name)), ".")
		if name == "" || ip(name) || name == "localhost" || strings.HasSuffix(name, ".localhost") ||
			strings.IndexFunc(name, func(c rune) bool { return c <= ' ' || c == '/' }) >= 0 {
			continue
		}
		add(name)
	}
	return out
}

// maxArtifacts bounds what one sweep adds to the prevalence counts.
const maxArtifacts = 20_000

// Artifacts returns the distinct artifacts of r that prevalence counts:
// autoruns and services (kind, name and command), process paths and the
// SHA-256 of executables. User profile folders are folded to "*" so that
// the same program installed per user stacks as one.
func Artifacts(r *result.Result) []Artifact {
	seen := map[Artifact]bool{}
	var out []Artifact
	add := func(kind, value string) {
		if value == "" || len(out) >= maxArtifacts {
			return
		}
		a := Artifact{Kind: kind, Value: clip(value, 1000)}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, p := range r.Persistence {
		desc := p.Kind + ": " + foldUser(p.Name)
		if p.Command != "" {
			desc += " → " + foldUser(p.Command)
		}
		if p.Kind == "service" || p.Kind == "systemd" {
			add(KindService, desc)
		} else {
			add(KindAutorun, desc)
		}
	}
	for _, p := range r.Processes {
		add(KindProcess, foldUser(p.Path))
		add(KindHash, strings.ToLower(p.SHA256))
	}
	for _, f := range r.Files {
		if f.Executable {
			add(KindHash, strings.ToLower(f.SHA256))
		}
	}
	return out
}

var userDirRE = regexp.MustCompile(`(?i)^(/home/|/Users/|[a-z]:\\Users\\|[a-z]:\\Documents and Settings\\)[^/\\]+`)

func foldUser(p string) string {
	return userDirRE.ReplaceAllString(p, "${1}*")
}

// raise turns the sweep's findings that score AlertScore or more, and
// whose key no reviewer marked benign, into alerts. Storing the sweep
// has succeeded by now, so a failure is logged, not returned: the scanner
// would retry, be told it is a replay, and the alert would be lost anyway.
func (s *Service) raise(ctx context.Context, st *StoredSweep) {
	if s.opt.Alerts == nil || !slices.ContainsFunc(st.Findings, func(f Finding) bool { return f.Finding.Score >= s.opt.AlertScore }) {
		return // most sweeps: nothing to raise, so no need to read the exceptions
	}
	ex, err := s.store.Exceptions(ctx, st.Sweep.TenantID)
	if err != nil {
		s.opt.Logger.Warn("sweep alerts: exceptions", "sweep", st.Sweep.ID, "err", err)
		return
	}
	benign := map[string]bool{}
	for _, e := range ex {
		benign[e.Key] = true
	}
	var alerts []tansa.Alert
	for _, f := range st.Findings {
		if f.Finding.Score < s.opt.AlertScore || benign[f.Key] {
			continue
		}
		alerts = append(alerts, tansa.Alert{
			TenantID: st.Sweep.TenantID, Kind: tansa.AlertSweep, RuleID: f.Finding.Rule, RuleTitle: f.Finding.Message,
			Level: level(f.Finding.Severity), Tags: attackTags(f.Finding.ATTACK), Host: st.Sweep.Hostname,
			GroupKey: st.Sweep.Hostname + "|" + f.Key, Count: 1, FirstSeen: st.Sweep.Started, LastSeen: st.Sweep.Started,
			EventIDs: []string{},
			Context: jsonOf(map[string]any{"sweep_id": st.Sweep.ID, "asset_id": st.Sweep.AssetID, "finding_id": f.ID,
				"key": f.Key, "score": f.Finding.Score, "explanation": f.Finding.Message, "subject": f.Finding.Subject}),
			Status: tansa.AlertNew, Created: st.Sweep.Received, Updated: st.Sweep.Received,
		})
	}
	if len(alerts) == 0 {
		return
	}
	if err := s.opt.Alerts.Raise(ctx, alerts); err != nil {
		s.opt.Logger.Warn("sweep alerts: raise", "sweep", st.Sweep.ID, "alerts", len(alerts), "err", err)
	}
}

func level(severity string) string {
	if severity == "info" {
		return "informational"
	}
	if tansa.LevelRank(severity) < 0 {
		return "medium"
	}
	return severity
}

func attackTags(ids []string) []string {
	tags := []string{}
	for _, id := range ids {
		tags = append(tags, "attack."+strings.ToLower(id))
	}
	return tags
}

// ---- views

// Asset returns asset id when c may see it.
func (s *Service) Asset(ctx context.Context, c access.Caller, id string) (Asset, error) {
	if err := c.Require(access.PermFleetRead); err != nil {
		return Asset{}, err
	}
	a, err := s.store.Asset(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && !visible(c, a.TenantID)) {
		return Asset{}, tansa.Errorf(tansa.NotFound, "endpoint %q not found", id)
	}
	return a, err
}

// Assets lists the endpoints in c's reach; q.Artifact names a Prevalence
// ID to list the endpoints that have it.
func (s *Service) Assets(ctx context.Context, c access.Caller, q AssetQuery) ([]Asset, int, error) {
	if err := c.Require(access.PermFleetRead); err != nil {
		return nil, 0, err
	}
	if q.Swept != "" && q.Swept != "recent" && q.Swept != "stale" && q.Swept != "never" {
		return nil, 0, tansa.Errorf(tansa.Invalid, "swept: %q is not recent, stale or never", q.Swept)
	}
	q.Scope = scopeOf(c, q.Scope)
	return s.store.Assets(ctx, q)
}

// RegisterAssets adds expected endpoints (hostnames, one per entry) to a
// tenant, so that coverage shows those never swept.
func (s *Service) RegisterAssets(ctx context.Context, c access.Caller, tenant string, hostnames []string) (int, error) {
	if err := c.Require(access.PermFleetWrite); err != nil {
		return 0, err
	}
	tenant, err := s.reach(ctx, c, tenant)
	if err != nil {
		return 0, err
	}
	var clean []string
	for i, h := range hostnames {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if len(h) > 255 || strings.IndexFunc(h, unicode.IsControl) >= 0 {
			return 0, tansa.Errorf(tansa.Invalid, "hostnames[%d]: %q is longer than 255 bytes or has control characters", i, clip(h, 80))
		}
		clean = append(clean, h)
	}
	if len(clean) > 100_000 {
		return 0, tansa.Errorf(tansa.TooLarge, "%d hostnames in one request; send at most 100,000", len(clean))
	}
	return s.store.RegisterAssets(ctx, tenant, clean, s.now(),
		s.audit(c, "asset.register", "tenant", tenant, tenant, map[string]int{"hostnames": len(clean)}))
}

// Sweep returns sweep id when c may see it.
func (s *Service) Sweep(ctx context.Context, c access.Caller, id string) (Sweep, error) {
	if err := c.Require(access.PermFleetRead); err != nil {
		return Sweep{}, err
	}
	sw, err := s.store.Sweep(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && !visible(c, sw.TenantID)) {
		return Sweep{}, tansa.Errorf(tansa.NotFound, "sweep %q not found", id)
	}
	return sw, err
}

// SweepResult returns the whole stored result of sweep id.
func (s *Service) SweepResult(ctx context.Context, c access.Caller, id string) (Sweep, *result.Result, error) {
	sw, err := s.Sweep(ctx, c, id)
	if err != nil {
		return Sweep{}, nil, err
	}
	sealed, err := s.store.SweepSealed(ctx, id)
	if err != nil {
		return Sweep{}, nil, err
	}
	r, err := scan.Open(bytes.NewReader(sealed), s.opt.Keys.Identity, s.opt.MaxResult)
	if err != nil {
		return Sweep{}, nil, fmt.Errorf("open stored sweep %s: %w", id, err)
	}
	r.Normalize()
	return sw, r, nil
}

// Sweeps lists sweeps in c's reach, newest first.
func (s *Service) Sweeps(ctx context.Context, c access.Caller, q SweepQuery) ([]Sweep, int, error) {
	if err := c.Require(access.PermFleetRead); err != nil {
		return nil, 0, err
	}
	q.Scope = scopeOf(c, q.Scope)
	return s.store.Sweeps(ctx, q)
}

// Findings lists findings of the endpoints' latest sweeps (or of one
// sweep), highest score first, with their verdicts.
func (s *Service) Findings(ctx context.Context, c access.Caller, q FindingQuery) ([]Finding, int, error) {
	if err := c.Require(access.PermFleetRead); err != nil {
		return nil, 0, err
	}
	q.Scope = scopeOf(c, q.Scope)
	return s.store.Findings(ctx, q)
}

// Coverage counts the endpoints in c's reach swept within days, earlier,
// and never.
func (s *Service) Coverage(ctx context.Context, c access.Caller, asked access.Scope, days int) (Coverage, error) {
	if err := c.Require(access.PermFleetRead); err != nil {
		return Coverage{}, err
	}
	if days < 1 || days > 3650 {
		return Coverage{}, tansa.Errorf(tansa.Invalid, "days: %d is not between 1 and 3650", days)
	}
	cov, err := s.store.Coverage(ctx, scopeOf(c, asked), s.now().AddDate(0, 0, -days))
	cov.Days = days
	return cov, err
}

// Prevalence lists artifacts by how many endpoints have them, rarest first.
func (s *Service) Prevalence(ctx context.Context, c access.Caller, q PrevalenceQuery) ([]Prevalence, int, error) {
	if err := c.Require(access.PermFleetRead); err != nil {
		return nil, 0, err
	}
	if q.Kind != "" && !slices.Contains(ArtifactKinds, q.Kind) {
		return nil, 0, tansa.Errorf(tansa.Invalid, "kind: %q is not one of %s", q.Kind, strings.Join(ArtifactKinds, ", "))
	}
	q.Scope = scopeOf(c, q.Scope)
	return s.store.Prevalence(ctx, q)
}

// Artifact returns the artifact behind a Prevalence ID. Artifacts are
// values (a path, a hash), not tenant data, but only those some endpoint
// in c's reach has are shown.
func (s *Service) Artifact(ctx context.Context, c access.Caller, id string) (Artifact, int, error) {
	if err := c.Require(access.PermFleetRead); err != nil {
		return Artifact{}, 0, err
	}
	a, err := s.store.ArtifactOf(ctx, id)
	notFound := tansa.Errorf(tansa.NotFound, "artifact %q not found", id)
	if tansa.KindOf(err) == tansa.NotFound {
		return Artifact{}, 0, notFound
	}
	if err != nil {
		return Artifact{}, 0, err
	}
	_, n, err := s.store.Assets(ctx, AssetQuery{Scope: scopeOf(c, access.Scope{}), Artifact: id})
	if err != nil {
		return Artifact{}, 0, err
	}
	if n == 0 {
		return Artifact{}, 0, notFound
	}
	return a, n, nil
}

// Diff is what changed between two sweeps of one endpoint.
type Diff struct {
	From    Sweep      `json:"from"`
	To      Sweep      `json:"to"`
	Added   []Artifact `json:"added"`
	Removed []Artifact `json:"removed"`
	// NewFindings and GoneFindings are finding keys.
	NewFindings  []result.Finding `json:"new_findings"`
	GoneFindings []result.Finding `json:"gone_findings"`
}

// Diff compares two sweeps of the same endpoint: artifacts (autoruns,
// services, process paths, hashes), listening ports and findings.
func (s *Service) Diff(ctx context.Context, c access.Caller, from, to string) (Diff, error) {
	a, ra, err := s.SweepResult(ctx, c, from)
	if err != nil {
		return Diff{}, err
	}
	b, rb, err := s.SweepResult(ctx, c, to)
	if err != nil {
		return Diff{}, err
	}
	if a.AssetID != b.AssetID {
		return Diff{}, tansa.Errorf(tansa.Invalid, "sweeps %s and %s are of different endpoints", from, to)
	}
	d := Diff{From: a, To: b, Added: []Artifact{}, Removed: []Artifact{}, NewFindings: []result.Finding{}, GoneFindings: []result.Finding{}}
	setA, setB := artifactSet(ra), artifactSet(rb)
	for _, x := range sortedKeys(setB) {
		if !setA[x] {
			d.Added = append(d.Added, x)
		}
	}
	for _, x := range sortedKeys(setA) {
		if !setB[x] {
			d.Removed = append(d.Removed, x)
		}
	}
	fa, fb := map[string]bool{}, map[string]bool{}
	for _, f := range ra.Findings {
		fa[f.Key()] = true
	}
	for _, f := range rb.Findings {
		fb[f.Key()] = true
		if !fa[f.Key()] {
			d.NewFindings = append(d.NewFindings, f)
		}
	}
	for _, f := range ra.Findings {
		if !fb[f.Key()] {
			d.GoneFindings = append(d.GoneFindings, f)
		}
	}
	return d, nil
}

func artifactSet(r *result.Result) map[Artifact]bool {
	m := map[Artifact]bool{}
	for _, a := range Artifacts(r) {
		m[a] = true
	}
	for _, cn := range r.Connections {
		if cn.Listening() {
			m[Artifact{Kind: "listener", Value: fmt.Sprintf("%s %s:%d %s", cn.Protocol, cn.LocalAddr, cn.LocalPort, cn.Process)}] = true
		}
	}
	for _, sw := range r.Software {
		m[Artifact{Kind: "software", Value: sw.Name + " " + sw.Version}] = true
	}
	return m
}

func sortedKeys(m map[Artifact]bool) []Artifact {
	out := make([]Artifact, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Artifact) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	return out
}

// ---- review

// ReviewInput is a comment and optional verdict on a finding key.
type ReviewInput struct {
	Tenant  string  `json:"tenant_id"`
	Key     string  `json:"key"`
	Verdict Verdict `json:"verdict"`
	Comment string  `json:"comment"`
}

// AddReview records a comment and verdict on a finding key of a tenant.
// A benign verdict makes the key an exception that the tenant's next scan
// packages carry; a later malicious verdict takes it back.
func (s *Service) AddReview(ctx context.Context, c access.Caller, in ReviewInput) (Review, error) {
	if err := c.Require(access.PermFleetReview); err != nil {
		return Review{}, err
	}
	tenant, err := s.reach(ctx, c, in.Tenant)
	if err != nil {
		return Review{}, err
	}
	if in.Verdict != VerdictNone && in.Verdict != VerdictBenign && in.Verdict != VerdictMalicious {
		return Review{}, tansa.Errorf(tansa.Invalid, "verdict: %q is not benign, malicious or empty", in.Verdict)
	}
	if in.Key == "" || len(in.Key) > 2000 {
		return Review{}, tansa.Errorf(tansa.Invalid, "key: the finding key is required (at most 2000 bytes)")
	}
	in.Comment = strings.TrimSpace(in.Comment)
	if len(in.Comment) > 10_000 || (in.Comment == "" && in.Verdict == VerdictNone) {
		return Review{}, tansa.Errorf(tansa.Invalid, "comment: give a comment (at most 10,000 bytes) or a verdict")
	}
	// The key must be one of the tenant's findings, so that reviews stay
	// about real findings and a key reveals nothing of another tenant.
	if _, n, err := s.store.Findings(ctx, FindingQuery{Scope: access.Scope{Tenants: []string{tenant}}, Key: in.Key}); err != nil {
		return Review{}, err
	} else if n == 0 {
		return Review{}, tansa.Errorf(tansa.NotFound, "no finding with key %q in this tenant", clip(in.Key, 200))
	}
	rv := Review{ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenant, Key: in.Key, Verdict: in.Verdict,
		Comment: in.Comment, Actor: c.Kind + ":" + c.Name, Time: s.now()}
	if err := s.store.AddReview(ctx, rv, s.audit(c, "finding.review", "finding", in.Key, tenant, rv)); err != nil {
		return Review{}, err
	}
	return rv, nil
}

// Reviews returns the reviews of a finding key in a tenant, oldest first.
func (s *Service) Reviews(ctx context.Context, c access.Caller, tenant, key string) ([]Review, error) {
	if err := c.Require(access.PermFleetRead); err != nil {
		return nil, err
	}
	tenant, err := s.reach(ctx, c, tenant)
	if err != nil {
		return nil, err
	}
	return s.store.Reviews(ctx, tenant, key)
}

// Exceptions returns a tenant's benign finding keys.
func (s *Service) Exceptions(ctx context.Context, c access.Caller, tenant string) ([]result.Exception, error) {
	if err := c.Require(access.PermFleetRead); err != nil {
		return nil, err
	}
	tenant, err := s.reach(ctx, c, tenant)
	if err != nil {
		return nil, err
	}
	return s.store.Exceptions(ctx, tenant)
}

// ---- campaigns

// CampaignInput creates a campaign.
type CampaignInput struct {
	Tenant   string `json:"tenant_id"`
	Name     string `json:"name"`
	Interval string `json:"interval"` // Go duration; empty for one-shot
}

// CampaignProgress is a campaign with how far it got.
type CampaignProgress struct {
	Campaign
	Since  time.Time `json:"since"` // the start of the current period
	Swept  int       `json:"swept"`
	Assets int       `json:"assets"`
}

// CreateCampaign starts a campaign in a tenant now.
func (s *Service) CreateCampaign(ctx context.Context, c access.Caller, in CampaignInput) (Campaign, error) {
	if err := c.Require(access.PermFleetWrite); err != nil {
		return Campaign{}, err
	}
	tenant, err := s.reach(ctx, c, in.Tenant)
	if err != nil {
		return Campaign{}, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return Campaign{}, tansa.Errorf(tansa.Invalid, "name: 1 to 100 characters")
	}
	cp := Campaign{ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenant, Name: in.Name, Start: s.now(), Created: s.now(), Creator: c.Kind + ":" + c.Name}
	if in.Interval != "" {
		d, err := time.ParseDuration(in.Interval)
		if err != nil || d < time.Hour || d > 366*24*time.Hour {
			return Campaign{}, tansa.Errorf(tansa.Invalid, "interval: %q is not a duration from 1h to 8784h", in.Interval)
		}
		cp.Interval = d
	}
	if err := s.store.CreateCampaign(ctx, cp, s.audit(c, "campaign.create", "campaign", cp.ID, tenant, cp)); err != nil {
		return Campaign{}, err
	}
	return cp, nil
}

// Campaign returns one campaign with its progress.
func (s *Service) Campaign(ctx context.Context, c access.Caller, id string) (CampaignProgress, error) {
	if err := c.Require(access.PermFleetRead); err != nil {
		return CampaignProgress{}, err
	}
	cp, err := s.store.Campaign(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && !visible(c, cp.TenantID)) {
		return CampaignProgress{}, tansa.Errorf(tansa.NotFound, "campaign %q not found", id)
	}
	if err != nil {
		return CampaignProgress{}, err
	}
	return s.progress(ctx, cp)
}

// Campaigns lists campaigns in c's reach with their progress.
func (s *Service) Campaigns(ctx context.Context, c access.Caller, asked access.Scope, p access.Page) ([]CampaignProgress, int, error) {
	if err := c.Require(access.PermFleetRead); err != nil {
		return nil, 0, err
	}
	cs, total, err := s.store.Campaigns(ctx, scopeOf(c, asked), p)
	if err != nil {
		return nil, 0, err
	}
	out := make([]CampaignProgress, 0, len(cs))
	for _, cp := range cs {
		pr, err := s.progress(ctx, cp)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, pr)
	}
	return out, total, nil
}

func (s *Service) progress(ctx context.Context, cp Campaign) (CampaignProgress, error) {
	pr := CampaignProgress{Campaign: cp, Since: cp.Start}
	if cp.Interval > 0 {
		periods := s.now().Sub(cp.Start) / cp.Interval
		pr.Since = cp.Start.Add(periods * cp.Interval)
	}
	var err error
	if pr.Swept, err = s.store.CampaignSwept(ctx, cp, pr.Since); err != nil {
		return pr, err
	}
	_, pr.Assets, err = s.store.Assets(ctx, AssetQuery{Scope: access.Scope{Tenants: []string{cp.TenantID}}})
	return pr, err
}

// RecordRefusal audits an upload refused before it reached Upload — an
// unknown, revoked or expired token, or a credential of another role — so
// that scanners knocking with a bad token show in the audit log. tenant is
// the credential's tenant when it was recognised.
// The same refusal from the same actor and address is audited once per
// Options.RefusalEvery.
func (s *Service) RecordRefusal(ctx context.Context, actor, addr, tenant string, cause error) error {
	return s.auditRefusal(ctx, tansa.AuditEntry{Time: s.now(), TenantID: tenant, Actor: actor, Addr: addr,
		Action: "sweep.refuse", ObjectType: "sweep"}, cause)
}

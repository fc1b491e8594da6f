package service

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/blocklist"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// ImportInput describes one import.
type ImportInput struct {
	Format importer.Format // empty or auto detects it
	// TenantID owns the imported indicators. Empty means the tenant the
	// caller works in; for a provider role working across tenants it means
	// global intelligence, which only a provider role over all tenants may
	// import.
	TenantID string
	Source   string // provenance: the file name or feed ("threatfox_ips.txt")
	Feed     string // the ID of the configured feed being pulled, if any
}

// Import reads one feed document and upserts its indicators, all in one
// transaction with the import log entry and an audit entry: a document
// whose envelope cannot be read changes nothing, and a malformed item is
// rejected alone (see importer.Result). It fails with kind TooLarge for
// input over importer.MaxInput.
func (s *Service) Import(ctx context.Context, c access.Caller, data []byte, in ImportInput) (*importer.Result, error) {
	if err := c.Require(access.PermIntelWrite); err != nil {
		return nil, err
	}
	if len(data) > importer.MaxInput {
		return nil, tansa.Errorf(tansa.TooLarge, "import of %d bytes exceeds the %d-byte limit", len(data), importer.MaxInput)
	}
	tenant, err := s.reach(ctx, c, in.TenantID)
	if err != nil {
		return nil, err
	}
	if tenant == "" && !c.AllTenants() {
		return nil, tansa.Errorf(tansa.Forbidden, "global intelligence needs a provider role over all tenants; name a tenant with tenant=ID")
	}
	if len(in.Source) > 200 {
		in.Source = in.Source[:200]
	}
	source := in.Source
	if source == "" {
		source = "upload"
	}
	now := s.now()
	opts := importer.Options{Format: in.Format, TenantID: tenant, Source: source, Allowlist: s.opt.Allowlist, Now: now}
	var res *importer.Result
	var logID string
	err = s.store.ImportIndicators(ctx, now, func(w Writer) (Import, tansa.AuditEntry, error) {
		r, err := importer.Import(ctx, data, opts, w)
		if err != nil {
			return Import{}, tansa.AuditEntry{}, err
		}
		res = r
		logged := *r
		logged.Rejected = r.Rejected[:min(len(r.Rejected), LogDetails)]
		logged.Skipped = r.Skipped[:min(len(r.Skipped), LogDetails)]
		rec := Import{ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenant, Time: now, Actor: c.Kind + ":" + c.Name,
			Source: source, Result: logged}
		logID = rec.ID
		a := tansa.AuditEntry{Time: now, TenantID: tenant, Actor: rec.Actor, Addr: c.Addr, Action: "intel.import",
			ObjectType: "intel-import", ObjectID: rec.ID,
			After: marshal(map[string]any{"source": source, "format": r.Format, "items": r.Items, "added": r.Added,
				"updated": r.Updated, "rejected": r.RejectedCount, "skipped": r.SkippedCount})}
		return rec, a, nil
	})
	if err != nil {
		return nil, err
	}
	if l := s.opt.Listener; l != nil && res.Added+res.Updated > 0 {
		l.Imported(ctx, ImportNotice{ImportID: logID, TenantID: tenant, At: now, Actor: c.Kind + ":" + c.Name, Source: source,
			Feed: in.Feed, Added: res.Added, Updated: res.Updated})
	}
	return res, nil
}

// Indicators returns the indicators matching q that c may see — those of
// c's tenants and the global ones (TLP:RED global ones for provider roles
// only) — and their total. Naming a tenant in q.Scope.Tenants[0] narrows
// the answer to what that tenant sees, or to nothing when c may not reach
// it.
func (s *Service) Indicators(ctx context.Context, c access.Caller, q Query) ([]Record, int, error) {
	if err := c.Require(access.PermIntelRead); err != nil {
		return nil, 0, err
	}
	if q.Type != "" && !q.Type.Valid() {
		return nil, 0, tansa.Errorf(tansa.Invalid, "type: unknown indicator type %q", q.Type)
	}
	asked := q.Scope
	q.Scope = c.Scope()
	if len(asked.Tenants) == 1 {
		q.Scope = q.Scope.Narrow(asked.Tenants[0])
	}
	q.Scope.Provider = false
	// A tenant out of reach shows nothing, not even global intel, so the
	// answer says nothing about whether it exists.
	q.Global = q.Scope.All || len(q.Scope.Tenants) > 0
	q.GlobalRed = c.Role.Provider()
	return s.store.Indicators(ctx, q)
}

// Indicator returns indicator id when c may see it, with the sightings of
// c's tenants (and those of no tenant).
func (s *Service) Indicator(ctx context.Context, c access.Caller, id string) (Record, error) {
	if err := c.Require(access.PermIntelRead); err != nil {
		return Record{}, err
	}
	r, err := s.store.Indicator(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && !visible(c, r.Indicator.TenantID, r.Indicator.TLP)) {
		return Record{}, tansa.Errorf(tansa.NotFound, "indicator %q not found", id)
	}
	if err != nil {
		return Record{}, err
	}
	r.Indicator.Sightings = slices.DeleteFunc(r.Indicator.Sightings, func(sg intel.Sighting) bool {
		return sg.TenantID != "" && !visible(c, sg.TenantID, "")
	})
	return r, nil
}

// Imports lists the import log entries c may see, newest first: those of
// its tenants and, for a provider role over all tenants, global imports.
func (s *Service) Imports(ctx context.Context, c access.Caller, q ImportQuery) ([]Import, int, error) {
	if err := c.Require(access.PermIntelRead); err != nil {
		return nil, 0, err
	}
	asked := q.Scope
	q.Scope = c.Scope()
	if len(asked.Tenants) == 1 {
		q.Scope = q.Scope.Narrow(asked.Tenants[0])
	}
	return s.store.Imports(ctx, q)
}

// BlockList builds the block list of one tenant: its own indicators and
// the global ones it may see (not TLP:RED), active at the service's now,
// never an allowlisted value. tenant is resolved as for Import; a provider
// role working across tenants that names none gets the global list.
func (s *Service) BlockList(ctx context.Context, c access.Caller, tenant string) (*blocklist.List, error) {
	if err := c.Require(access.PermIntelRead); err != nil {
		return nil, err
	}
	tenant, err := s.reach(ctx, c, tenant)
	if err != nil {
		return nil, err
	}
	inds, err := s.store.BlockCandidates(ctx, tenant)
	if err != nil {
		return nil, err
	}
	// The list goes to the tenant's own devices, so it carries only what
	// the tenant's people may see.
	inds = slices.DeleteFunc(inds, func(ind intel.Indicator) bool {
		return ind.TenantID == "" && ind.TLP == intel.TLPRed
	})
	return blocklist.Build(inds, s.opt.Allowlist, blocklist.Options{Now: s.now(), TenantID: tenant}), nil
}

// RPZ returns the zone description to render a block list with: the
// configured origin and a serial that grows with time (seconds since the
// epoch, truncated to 32 bits), so secondaries transfer every new version.
func (s *Service) RPZ() blocklist.RPZ {
	return blocklist.RPZ{Zone: s.opt.RPZZone, Serial: uint32(s.now().Unix())}
}

// marshal encodes an audit summary; its values are numbers and strings,
// which always encode.
func marshal(v map[string]any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// Shared returns a page of what tenant shares over TAXII: its own
// indicators and the global ones it may pass on (never TLP:RED), updated
// after the cursor (after, afterID), oldest first. tenant must be one c
// may reach; the page is as the tenant's people see it.
func (s *Service) Shared(ctx context.Context, c access.Caller, tenant string, after time.Time, afterID string, limit int) ([]Record, error) {
	if err := c.Require(access.PermIntelRead); err != nil {
		return nil, err
	}
	if tenant == "" {
		return nil, tansa.Errorf(tansa.NotFound, "collection not found")
	}
	t, err := s.reach(ctx, c, tenant)
	if err != nil {
		return nil, err
	}
	return s.store.Shared(ctx, t, after, afterID, limit)
}

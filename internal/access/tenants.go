package access

import (
	"context"
	"slices"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// TenantInput creates or changes a tenant; nil fields are left as they are
// (on create: name is required, language defaults to en, time zone to UTC).
type TenantInput struct {
	Name     *string          `json:"name"`
	Country  *string          `json:"country"`
	Language *string          `json:"language"`
	TimeZone *string          `json:"time_zone"`
	Contacts *[]tansa.Contact `json:"contacts"`
	// RetentionDays is how long events are kept: 1 to 3650 days (90).
	RetentionDays *int `json:"retention_days"`
}

func (in TenantInput) apply(t *tansa.Tenant) error {
	if in.Name != nil {
		t.Name = *in.Name
	}
	if in.Country != nil {
		t.Country = *in.Country
	}
	if in.Language != nil {
		t.Language = *in.Language
	}
	if in.TimeZone != nil {
		t.TimeZone = *in.TimeZone
	}
	if in.Contacts != nil {
		t.Contacts = slices.Clone(*in.Contacts)
	}
	if in.RetentionDays != nil {
		t.RetentionDays = *in.RetentionDays
	}
	if t.RetentionDays < 1 || t.RetentionDays > 3650 {
		return tansa.Errorf(tansa.Invalid, "retention_days: %d must be from 1 to 3650", t.RetentionDays)
	}
	if err := checkText("name", t.Name, 1, 200); err != nil {
		return err
	}
	if t.Country != "" && !countryRE.MatchString(t.Country) {
		return tansa.Errorf(tansa.Invalid, "country: %q is not an ISO 3166 two-letter code such as JP", t.Country)
	}
	if err := checkLanguage("language", t.Language, false); err != nil {
		return err
	}
	if err := checkTimeZone("time_zone", t.TimeZone, false); err != nil {
		return err
	}
	if t.Contacts == nil {
		t.Contacts = []tansa.Contact{}
	}
	return checkContacts(t.Contacts)
}

// CreateTenant adds a tenant. Only provider administrators may.
func (s *Service) CreateTenant(ctx context.Context, c Caller, in TenantInput) (tansa.Tenant, error) {
	if err := c.Require(PermTenantWrite); err != nil {
		return tansa.Tenant{}, err
	}
	if !c.AllTenants() {
		return tansa.Tenant{}, tansa.Errorf(tansa.Forbidden, "only a provider administrator with access to all tenants may create tenants")
	}
	t := tansa.Tenant{ID: newID(), Language: "en", TimeZone: "UTC", RetentionDays: 90, Created: s.now()}
	t.Updated = t.Created
	if err := in.apply(&t); err != nil {
		return tansa.Tenant{}, err
	}
	if err := s.store.CreateTenant(ctx, t, s.audit(c, "tenant.create", "tenant", t.ID, t.ID, nil, t)); err != nil {
		return tansa.Tenant{}, err
	}
	return t, nil
}

// UpdateTenant changes a tenant c can reach.
func (s *Service) UpdateTenant(ctx context.Context, c Caller, id string, in TenantInput) (tansa.Tenant, error) {
	if err := c.Require(PermTenantWrite); err != nil {
		return tansa.Tenant{}, err
	}
	before, err := s.Tenant(ctx, c, id)
	if err != nil {
		return tansa.Tenant{}, err
	}
	t := before
	if err := in.apply(&t); err != nil {
		return tansa.Tenant{}, err
	}
	t.Updated = s.now()
	if err := s.store.UpdateTenant(ctx, t, s.audit(c, "tenant.update", "tenant", t.ID, t.ID, before, t)); err != nil {
		return tansa.Tenant{}, err
	}
	return t, nil
}

// Tenant returns tenant id when c may see it.
func (s *Service) Tenant(ctx context.Context, c Caller, id string) (tansa.Tenant, error) {
	if err := c.Require(PermTenantRead); err != nil {
		return tansa.Tenant{}, err
	}
	if !c.CanAccess(id) || id == "" {
		return tansa.Tenant{}, notFound("tenant", id)
	}
	return s.store.Tenant(ctx, id)
}

// Tenants lists the tenants c may see, by name.
func (s *Service) Tenants(ctx context.Context, c Caller, q TenantQuery) ([]tansa.Tenant, int, error) {
	if err := c.Require(PermTenantRead); err != nil {
		return nil, 0, err
	}
	q.Scope = narrow(c, q.Scope)
	return s.store.Tenants(ctx, q)
}

// SwitcherTenants lists every tenant c may switch to, ignoring c's current
// choice, for the console's tenant switcher.
func (s *Service) SwitcherTenants(ctx context.Context, c Caller) ([]tansa.Tenant, error) {
	c.Current = ""
	ts, _, err := s.Tenants(ctx, c, TenantQuery{Page: Page{Limit: 1000}})
	return ts, err
}

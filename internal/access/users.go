package access

import (
	"context"
	"slices"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// UserInput creates or changes a user; nil fields are left as they are.
// Password is honoured on create only; use ResetPassword afterwards.
type UserInput struct {
	Username *string     `json:"username"`
	Name     *string     `json:"name"`
	Email    *string     `json:"email"`
	Role     *tansa.Role `json:"role"`
	TenantID *string     `json:"tenant_id"`
	Tenants  *[]string   `json:"tenants"`
	Language *string     `json:"language"`
	TimeZone *string     `json:"time_zone"`
	Disabled *bool       `json:"disabled"`
	Password *string     `json:"password"`
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// apply copies in onto u and checks the result, including that the tenants
// it names exist and are within c's reach.
func (s *Service) applyUser(ctx context.Context, c Caller, in UserInput, u *tansa.User) error {
	set(&u.Username, in.Username)
	set(&u.Name, in.Name)
	set(&u.Email, in.Email)
	set(&u.Role, in.Role)
	set(&u.TenantID, in.TenantID)
	if in.Tenants != nil {
		u.Tenants = slices.Clone(*in.Tenants)
	}
	set(&u.Language, in.Language)
	set(&u.TimeZone, in.TimeZone)
	set(&u.Disabled, in.Disabled)
	if !usernameRE.MatchString(u.Username) {
		return tansa.Errorf(tansa.Invalid, "username: %q must be 1-64 characters of a-z 0-9 . _ @ - starting with a letter or digit", u.Username)
	}
	if err := checkText("name", u.Name, 0, 200); err != nil {
		return err
	}
	if err := checkEmail("email", u.Email, true); err != nil {
		return err
	}
	if err := checkLanguage("language", u.Language, true); err != nil {
		return err
	}
	if err := checkTimeZone("time_zone", u.TimeZone, true); err != nil {
		return err
	}
	if !u.Role.Valid() || u.Role.Machine() {
		return tansa.Errorf(tansa.Invalid, "role: %q is not one of provider-admin, provider-analyst, tenant-admin, tenant-viewer", u.Role)
	}
	if !mayGrant(c.Role, u.Role) {
		return tansa.Errorf(tansa.Forbidden, "your role %s may not grant the role %s", c.Role, u.Role)
	}
	return s.checkTenancy(ctx, c, u.Role, u.TenantID, u.Tenants)
}

// checkTenancy enforces the tenant fields of a credential with role r:
// tenant roles name one reachable tenant; provider roles name none, and may
// be restricted to a set of existing tenants.
func (s *Service) checkTenancy(ctx context.Context, c Caller, r tansa.Role, tenantID string, tenants []string) error {
	if r.Provider() {
		if tenantID != "" {
			return tansa.Errorf(tansa.Invalid, "tenant_id: a %s belongs to no single tenant; use tenants to restrict it", r)
		}
		if len(tenants) > 1000 {
			return tansa.Errorf(tansa.Invalid, "tenants: at most 1000")
		}
		// Nobody grants a reach wider than their own: a caller restricted
		// to some tenants grants only credentials restricted within them.
		if !c.AllTenants() && len(tenants) == 0 {
			return tansa.Errorf(tansa.Forbidden, "tenants: you reach only some tenants, so a %s you grant must be restricted to some of them", r)
		}
		for _, id := range tenants {
			if !c.CanAccess(id) {
				return tansa.Errorf(tansa.Invalid, "tenants: tenant %q does not exist", id)
			}
			if _, err := s.store.Tenant(ctx, id); err != nil {
				return tansa.Errorf(tansa.Invalid, "tenants: tenant %q does not exist", id)
			}
		}
		return nil
	}
	if len(tenants) > 0 {
		return tansa.Errorf(tansa.Invalid, "tenants: only provider roles take a tenant set; use tenant_id")
	}
	if tenantID == "" {
		return tansa.Errorf(tansa.Invalid, "tenant_id: required for the role %s", r)
	}
	if !c.CanAccess(tenantID) {
		return tansa.Errorf(tansa.Invalid, "tenant_id: tenant %q does not exist", tenantID)
	}
	if _, err := s.store.Tenant(ctx, tenantID); err != nil {
		return tansa.Errorf(tansa.Invalid, "tenant_id: tenant %q does not exist", tenantID)
	}
	return nil
}

// visibleUser reports whether c may see u.
func visibleUser(c Caller, u tansa.User) bool {
	if u.TenantID == "" {
		return c.Scope().All
	}
	return c.CanAccess(u.TenantID) && (c.Current == "" || c.Current == u.TenantID)
}

// CreateUser adds a user with the given password (Password is required).
func (s *Service) CreateUser(ctx context.Context, c Caller, in UserInput) (tansa.User, error) {
	if err := c.Require(PermUserWrite); err != nil {
		return tansa.User{}, err
	}
	if in.Password == nil {
		return tansa.User{}, tansa.Errorf(tansa.Invalid, "password: required")
	}
	if err := checkPassword(*in.Password); err != nil {
		return tansa.User{}, err
	}
	u := tansa.User{ID: newID(), Created: s.now()}
	u.Updated = u.Created
	if in.Role != nil && !in.Role.Provider() && in.TenantID == nil && !c.Role.Provider() {
		tid := c.TenantID // a tenant admin's users belong to its tenant by default
		in.TenantID = &tid
	}
	if err := s.applyUser(ctx, c, in, &u); err != nil {
		return tansa.User{}, err
	}
	hash, err := HashPassword(*in.Password)
	if err != nil {
		return tansa.User{}, err
	}
	u.PasswordHash = hash
	if err := s.store.CreateUser(ctx, u, s.audit(c, "user.create", "user", u.ID, u.TenantID, nil, u)); err != nil {
		return tansa.User{}, err
	}
	return u, nil
}

// User returns user id when c may see it.
func (s *Service) User(ctx context.Context, c Caller, id string) (tansa.User, error) {
	if err := c.Require(PermUserRead); err != nil {
		return tansa.User{}, err
	}
	u, err := s.store.User(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && !visibleUser(c, u)) {
		return tansa.User{}, notFound("user", id)
	}
	return u, err
}

// UpdateUser changes a user c may manage. Disabling a user ends its sessions.
func (s *Service) UpdateUser(ctx context.Context, c Caller, id string, in UserInput) (tansa.User, error) {
	if err := c.Require(PermUserWrite); err != nil {
		return tansa.User{}, err
	}
	if in.Password != nil {
		return tansa.User{}, tansa.Errorf(tansa.Invalid, "password: change it with the reset-password action")
	}
	before, err := s.User(ctx, c, id)
	if err != nil {
		return tansa.User{}, err
	}
	if !mayGrant(c.Role, before.Role) {
		return tansa.User{}, tansa.Errorf(tansa.Forbidden, "your role %s may not manage a %s", c.Role, before.Role)
	}
	if c.Kind == "user" && c.ID == id && ((in.Disabled != nil && *in.Disabled) || (in.Role != nil && *in.Role != before.Role)) {
		return tansa.User{}, tansa.Errorf(tansa.Invalid, "you may not disable yourself or change your own role")
	}
	u := before
	if err := s.applyUser(ctx, c, in, &u); err != nil {
		return tansa.User{}, err
	}
	u.Updated = s.now()
	if u.Disabled == false && before.Disabled {
		u.FailedLogins, u.LockedUntil = 0, time.Time{}
	}
	if err := s.store.UpdateUser(ctx, u, s.audit(c, "user.update", "user", u.ID, u.TenantID, before, u)); err != nil {
		return tansa.User{}, err
	}
	if u.Disabled || u.Role != before.Role || u.TenantID != before.TenantID || !slices.Equal(u.Tenants, before.Tenants) {
		if _, err := s.store.DeleteSessions(ctx, u.ID, time.Time{}, time.Time{}); err != nil {
			return u, err
		}
	}
	return u, nil
}

// Users lists the users c may see.
func (s *Service) Users(ctx context.Context, c Caller, q UserQuery) ([]tansa.User, int, error) {
	if err := c.Require(PermUserRead); err != nil {
		return nil, 0, err
	}
	q.Scope = narrow(c, q.Scope)
	return s.store.Users(ctx, q)
}

// ResetPassword sets a new password for a user c may manage, or a random one
// when password is empty, and returns it. It unlocks the account and ends
// its sessions.
func (s *Service) ResetPassword(ctx context.Context, c Caller, id, password string) (string, error) {
	if err := c.Require(PermUserWrite); err != nil {
		return "", err
	}
	u, err := s.User(ctx, c, id)
	if err != nil {
		return "", err
	}
	if !mayGrant(c.Role, u.Role) {
		return "", tansa.Errorf(tansa.Forbidden, "your role %s may not manage a %s", c.Role, u.Role)
	}
	if password == "" {
		password = RandomPassword()
	}
	if err := checkPassword(password); err != nil {
		return "", err
	}
	return password, s.setPassword(ctx, c, u, password, "user.reset-password")
}

func (s *Service) setPassword(ctx context.Context, c Caller, u tansa.User, password, action string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	before := u
	u.PasswordHash, u.FailedLogins, u.LockedUntil, u.Updated = hash, 0, time.Time{}, s.now()
	// The audit's before/after show the user without its hash (it is never
	// serialised); the action itself says the password changed.
	if err := s.store.UpdateUser(ctx, u, s.audit(c, action, "user", u.ID, u.TenantID, before, u)); err != nil {
		return err
	}
	_, err = s.store.DeleteSessions(ctx, u.ID, time.Time{}, time.Time{})
	return err
}

// Self returns the calling user's own record, whatever their role: every
// person may see their own name, e-mail and preferences.
func (s *Service) Self(ctx context.Context, c Caller) (tansa.User, error) {
	if err := c.Require(PermSelf); err != nil {
		return tansa.User{}, err
	}
	if c.Kind != "user" {
		return tansa.User{}, tansa.Errorf(tansa.Invalid, "only a logged-in user has a profile")
	}
	return s.store.User(ctx, c.ID)
}

// PrefsInput is what every user may change about themselves.
type PrefsInput struct {
	Name     *string `json:"name"`
	Email    *string `json:"email"`
	Language *string `json:"language"`
	TimeZone *string `json:"time_zone"`
}

// UpdateSelf changes the calling user's own name, e-mail and preferences.
func (s *Service) UpdateSelf(ctx context.Context, c Caller, in PrefsInput) (tansa.User, error) {
	if err := c.Require(PermSelf); err != nil {
		return tansa.User{}, err
	}
	if c.Kind != "user" {
		return tansa.User{}, tansa.Errorf(tansa.Invalid, "only a logged-in user has preferences")
	}
	before, err := s.store.User(ctx, c.ID)
	if err != nil {
		return tansa.User{}, err
	}
	u := before
	set(&u.Name, in.Name)
	set(&u.Email, in.Email)
	set(&u.Language, in.Language)
	set(&u.TimeZone, in.TimeZone)
	if err := checkText("name", u.Name, 0, 200); err != nil {
		return tansa.User{}, err
	}
	if err := checkEmail("email", u.Email, true); err != nil {
		return tansa.User{}, err
	}
	if err := checkLanguage("language", u.Language, true); err != nil {
		return tansa.User{}, err
	}
	if err := checkTimeZone("time_zone", u.TimeZone, true); err != nil {
		return tansa.User{}, err
	}
	u.Updated = s.now()
	if err := s.store.UpdateUser(ctx, u, s.audit(c, "user.update-self", "user", u.ID, u.TenantID, before, u)); err != nil {
		return tansa.User{}, err
	}
	return u, nil
}

// ChangeOwnPassword changes the calling user's password after checking the
// current one.
func (s *Service) ChangeOwnPassword(ctx context.Context, c Caller, current, password string) error {
	if c.Kind != "user" {
		return tansa.Errorf(tansa.Invalid, "only a logged-in user has a password")
	}
	u, err := s.store.User(ctx, c.ID)
	if err != nil {
		return err
	}
	if !CheckPassword(u.PasswordHash, current) {
		return tansa.Errorf(tansa.Invalid, "current password: does not match")
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	return s.setPassword(ctx, c, u, password, "user.change-password")
}

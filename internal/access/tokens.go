package access

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// tokenPrefix starts every API token so that secret scanners recognise one.
const tokenPrefix = "tansa_"

// TokenInput creates an API token.
type TokenInput struct {
	Name      string     `json:"name"`
	Role      tansa.Role `json:"role"`
	TenantID  string     `json:"tenant_id"`
	Tenants   []string   `json:"tenants"`
	ExpiresIn string     `json:"expires_in"` // Go duration such as "720h"; empty never expires
}

// CreateToken makes an API token and returns it with its secret, which is
// shown this once and stored only as a hash.
func (s *Service) CreateToken(ctx context.Context, c Caller, in TokenInput) (tansa.Token, string, error) {
	if err := c.Require(PermTokenWrite); err != nil {
		return tansa.Token{}, "", err
	}
	if err := checkText("name", in.Name, 1, 100); err != nil {
		return tansa.Token{}, "", err
	}
	if !in.Role.Valid() {
		return tansa.Token{}, "", tansa.Errorf(tansa.Invalid, "role: %q is not one of %s", in.Role, joinRoles())
	}
	if !mayGrant(c.Role, in.Role) {
		return tansa.Token{}, "", tansa.Errorf(tansa.Forbidden, "your role %s may not grant the role %s", c.Role, in.Role)
	}
	if in.TenantID == "" && !in.Role.Provider() && !c.Role.Provider() {
		in.TenantID = c.TenantID
	}
	if err := s.checkTenancy(ctx, c, in.Role, in.TenantID, in.Tenants); err != nil {
		return tansa.Token{}, "", err
	}
	t := tansa.Token{ID: newID(), Name: in.Name, Role: in.Role, TenantID: in.TenantID, Tenants: slices.Clone(in.Tenants),
		Created: s.now(), Creator: c.actor()}
	if in.ExpiresIn != "" {
		d, err := time.ParseDuration(in.ExpiresIn)
		if err != nil || d <= 0 {
			return tansa.Token{}, "", tansa.Errorf(tansa.Invalid, "expires_in: %q is not a positive duration such as 720h", in.ExpiresIn)
		}
		t.Expires = t.Created.Add(d)
	}
	secret := tokenPrefix + randomSecret(32)
	t.Hash = hashSecret(secret)
	t.Prefix = secret[:len(tokenPrefix)+6]
	if err := s.store.CreateToken(ctx, t, s.audit(c, "token.create", "token", t.ID, t.TenantID, nil, t)); err != nil {
		return tansa.Token{}, "", err
	}
	return t, secret, nil
}

func joinRoles() string {
	var b strings.Builder
	for i, r := range tansa.Roles {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(r))
	}
	return b.String()
}

func visibleToken(c Caller, t tansa.Token) bool {
	if t.TenantID == "" {
		return c.Scope().All
	}
	return c.CanAccess(t.TenantID) && (c.Current == "" || c.Current == t.TenantID)
}

// Token returns token id when c may see it.
func (s *Service) Token(ctx context.Context, c Caller, id string) (tansa.Token, error) {
	if err := c.Require(PermTokenRead); err != nil {
		return tansa.Token{}, err
	}
	t, err := s.store.Token(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && !visibleToken(c, t)) {
		return tansa.Token{}, notFound("token", id)
	}
	return t, err
}

// Tokens lists the tokens c may see, newest first.
func (s *Service) Tokens(ctx context.Context, c Caller, q TokenQuery) ([]tansa.Token, int, error) {
	if err := c.Require(PermTokenRead); err != nil {
		return nil, 0, err
	}
	q.Scope = narrow(c, q.Scope)
	return s.store.Tokens(ctx, q)
}

// RevokeToken ends a token c may manage. Revoking twice is not an error.
func (s *Service) RevokeToken(ctx context.Context, c Caller, id string) (tansa.Token, error) {
	if err := c.Require(PermTokenWrite); err != nil {
		return tansa.Token{}, err
	}
	t, err := s.Token(ctx, c, id)
	if err != nil {
		return tansa.Token{}, err
	}
	if !mayGrant(c.Role, t.Role) {
		return tansa.Token{}, tansa.Errorf(tansa.Forbidden, "your role %s may not manage a %s token", c.Role, t.Role)
	}
	if !t.Revoked.IsZero() {
		return t, nil
	}
	before := t
	t.Revoked = s.now()
	if err := s.store.RevokeToken(ctx, id, t.Revoked, s.audit(c, "token.revoke", "token", t.ID, t.TenantID, before, t)); err != nil {
		return tansa.Token{}, err
	}
	return t, nil
}

// TokenPrincipal authenticates an API token secret.
func (s *Service) TokenPrincipal(ctx context.Context, secret string) (Principal, error) {
	bad := tansa.Errorf(tansa.Unauthorized, "invalid, revoked or expired API token")
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 200 {
		return Principal{}, bad
	}
	t, err := s.store.TokenByHash(ctx, hashSecret(secret))
	if tansa.KindOf(err) == tansa.NotFound {
		return Principal{}, bad
	} else if err != nil {
		return Principal{}, err
	}
	now := s.now()
	if !t.Revoked.IsZero() || (!t.Expires.IsZero() && now.After(t.Expires)) {
		return Principal{}, bad
	}
	// Last-used time is kept to the minute so that a busy token does not
	// turn every request into a write.
	if now.Sub(t.LastUsed) > time.Minute {
		if err := s.store.TouchToken(ctx, t.ID, now); err != nil {
			return Principal{}, err
		}
	}
	return Principal{Kind: "token", ID: t.ID, Name: t.Name, Role: t.Role, TenantID: t.TenantID, Tenants: t.Tenants}, nil
}

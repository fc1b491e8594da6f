package access

import (
	"context"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// Store is what the access service needs from storage. Every method that
// changes state takes the audit entry describing the change and writes both
// in one transaction, so there is no change without its audit entry.
//
// Lookups of a missing object return an error of kind tansa.NotFound;
// creating an object whose unique key exists returns kind tansa.Conflict.
// Implementations are safe for concurrent use.
type Store interface {
	CreateTenant(ctx context.Context, t tansa.Tenant, a tansa.AuditEntry) error
	UpdateTenant(ctx context.Context, t tansa.Tenant, a tansa.AuditEntry) error
	Tenant(ctx context.Context, id string) (tansa.Tenant, error)
	Tenants(ctx context.Context, q TenantQuery) ([]tansa.Tenant, int, error)

	CreateUser(ctx context.Context, u tansa.User, a tansa.AuditEntry) error
	UpdateUser(ctx context.Context, u tansa.User, a tansa.AuditEntry) error
	User(ctx context.Context, id string) (tansa.User, error)
	UserByName(ctx context.Context, username string) (tansa.User, error)
	Users(ctx context.Context, q UserQuery) ([]tansa.User, int, error)
	// RecordLogin stores the outcome of a login attempt (failure count,
	// lock-out and last login) without an audit entry of its own; the
	// service appends one with AppendAudit.
	RecordLogin(ctx context.Context, userID string, failed int, lockedUntil, lastLogin time.Time) error

	CreateToken(ctx context.Context, t tansa.Token, a tansa.AuditEntry) error
	RevokeToken(ctx context.Context, id string, at time.Time, a tansa.AuditEntry) error
	Token(ctx context.Context, id string) (tansa.Token, error)
	TokenByHash(ctx context.Context, hash string) (tansa.Token, error)
	Tokens(ctx context.Context, q TokenQuery) ([]tansa.Token, int, error)
	TouchToken(ctx context.Context, id string, at time.Time) error

	CreateSession(ctx context.Context, s tansa.Session) error
	Session(ctx context.Context, hash string) (tansa.Session, error)
	// UpdateSession stores LastSeen and TenantID of the session s.Hash.
	UpdateSession(ctx context.Context, s tansa.Session) error
	DeleteSession(ctx context.Context, hash string) error
	// DeleteSessions removes every session of userID, or every session
	// idle since before idleBefore or created before createdBefore when
	// userID is empty.
	DeleteSessions(ctx context.Context, userID string, idleBefore, createdBefore time.Time) (int, error)

	AppendAudit(ctx context.Context, a tansa.AuditEntry) error
	Audit(ctx context.Context, q AuditQuery) ([]tansa.AuditEntry, int, error)
}

// Page selects a slice of a list. Limit 0 asks only for the total.
type Page struct {
	Limit  int
	Offset int
}

// TenantQuery selects tenants.
type TenantQuery struct {
	Scope Scope
	Text  string // substring of the name, case-insensitive
	Page
}

// UserQuery selects users. Provider users (no tenant) are included only when
// Scope.All or Scope.Provider is set.
type UserQuery struct {
	Scope Scope
	Text  string // substring of username, name or e-mail
	Role  tansa.Role
	Page
}

// TokenQuery selects tokens, newest first; revoked tokens are included.
type TokenQuery struct {
	Scope Scope
	Page
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	Scope    Scope
	Action   string // exact action, or a prefix ending in "." ("user.")
	Actor    string
	ObjectID string
	Since    time.Time
	Until    time.Time
	Page
}

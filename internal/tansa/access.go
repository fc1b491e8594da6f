package tansa

import (
	"encoding/json"
	"slices"
	"time"
)

// Role is what a principal may do. Provider roles belong to the CSIRT that
// runs Tansa and reach many tenants; tenant roles reach exactly one.
type Role string

// The roles.
const (
	RoleProviderAdmin   Role = "provider-admin"
	RoleProviderAnalyst Role = "provider-analyst"
	RoleTenantAdmin     Role = "tenant-admin"
	RoleTenantViewer    Role = "tenant-viewer"
	// RoleIngest may only write events into its one tenant; it is for
	// log shippers and scanners, never for people.
	RoleIngest Role = "ingest"
	// RoleScanner is an enrolment token: it may only upload endpoint sweep
	// results into its one tenant. It is embedded in scan packages handed
	// to thousands of machines, so it can do nothing else (not even write
	// events), and it is never for people.
	RoleScanner Role = "scanner"
)

// Roles lists every role in order of decreasing power.
var Roles = []Role{RoleProviderAdmin, RoleProviderAnalyst, RoleTenantAdmin, RoleTenantViewer, RoleIngest, RoleScanner}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Machine reports whether r is a role for machines (shippers, scanners)
// that people may not hold.
func (r Role) Machine() bool { return r == RoleIngest || r == RoleScanner }

// Provider reports whether r is one of the CSIRT's cross-tenant roles.
func (r Role) Provider() bool { return r == RoleProviderAdmin || r == RoleProviderAnalyst }

// Tenant is a group company or site whose data is walled off from every
// other tenant's.
type Tenant struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Country  string    `json:"country"`  // ISO 3166-1 alpha-2, e.g. "JP"
	Language string    `json:"language"` // "ja" or "en"
	TimeZone string    `json:"time_zone"`
	Contacts []Contact `json:"contacts"`
	// RetentionDays is how long the tenant's events are kept.
	RetentionDays int       `json:"retention_days"`
	Created       time.Time `json:"created"`
	Updated       time.Time `json:"updated"`
}

// Contact is a person to reach at a tenant.
type Contact struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone,omitempty"`
	Role  string `json:"role,omitempty"` // e.g. "IT", "security", "management"
}

// User is a person who logs in to the console.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Role     Role   `json:"role"`
	// TenantID is the one tenant of a tenant role; empty for provider roles.
	TenantID string `json:"tenant_id,omitempty"`
	// Tenants restricts a provider role to a chosen set; empty means all.
	Tenants  []string `json:"tenants,omitempty"`
	Language string   `json:"language,omitempty"`  // "", "ja" or "en"; empty follows the browser
	TimeZone string   `json:"time_zone,omitempty"` // IANA name; empty follows the tenant, else UTC
	Disabled bool     `json:"disabled"`
	// PasswordHash is the argon2id hash in PHC string form; never serialised.
	PasswordHash string    `json:"-"`
	FailedLogins int       `json:"-"`
	LockedUntil  time.Time `json:"locked_until,omitzero"`
	LastLogin    time.Time `json:"last_login,omitzero"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
}

// Token is an API credential. Only the SHA-256 of its secret is stored.
type Token struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Role     Role      `json:"role"`
	TenantID string    `json:"tenant_id,omitempty"`
	Tenants  []string  `json:"tenants,omitempty"`
	Hash     string    `json:"-"`      // hex SHA-256 of the secret
	Prefix   string    `json:"prefix"` // first characters of the secret, to recognise it
	Created  time.Time `json:"created"`
	Creator  string    `json:"creator"`
	LastUsed time.Time `json:"last_used,omitzero"`
	Revoked  time.Time `json:"revoked,omitzero"`
	Expires  time.Time `json:"expires,omitzero"`
}

// Session is a logged-in browser. Only the SHA-256 of its cookie is stored.
type Session struct {
	Hash     string
	UserID   string
	Created  time.Time
	LastSeen time.Time
	Addr     string
	// TenantID is the tenant a provider user is currently looking at; empty
	// means all of theirs.
	TenantID string
}

// AuditEntry records one change: who made it, when, from where, what it
// touched and the object before and after. Audit entries are append-only.
type AuditEntry struct {
	ID         int64           `json:"id"`
	Time       time.Time       `json:"time"`
	TenantID   string          `json:"tenant_id,omitempty"` // the tenant the object belongs to; empty for provider-wide objects
	Actor      string          `json:"actor"`               // "user:alice", "token:ci-import", "system"
	Addr       string          `json:"addr,omitempty"`
	Action     string          `json:"action"` // "tenant.create", "user.update", "login.fail", …
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Before     json.RawMessage `json:"before,omitempty"` // the object before the change, or nil
	After      json.RawMessage `json:"after,omitempty"`  // the object after the change, or nil
}

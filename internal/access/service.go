package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// Options tunes the service. Zero fields take the defaults in parentheses.
type Options struct {
	SessionIdle     time.Duration // a session unused this long ends (30 min)
	SessionAbsolute time.Duration // a session ends this long after login (12 h)
	MaxFailures     int           // failed logins in a row before a lock-out (5)
	Lockout         time.Duration // how long a locked account stays locked (15 min)
	LoginRate       rate.Limit    // login attempts per second per address (1/6: ten a minute)
	LoginBurst      int           // attempts an address may make at once (10)
	Now             func() time.Time
}

func (o *Options) defaults() {
	if o.SessionIdle <= 0 {
		o.SessionIdle = 30 * time.Minute
	}
	if o.SessionAbsolute <= 0 {
		o.SessionAbsolute = 12 * time.Hour
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
	if o.Lockout <= 0 {
		o.Lockout = 15 * time.Minute
	}
	if o.LoginRate <= 0 {
		o.LoginRate = rate.Limit(1.0 / 6)
	}
	if o.LoginBurst <= 0 {
		o.LoginBurst = 10
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Service enforces authentication, authorisation and auditing over a Store.
// It is safe for concurrent use.
type Service struct {
	store Store
	opt   Options

	mu       sync.Mutex
	limiters map[string]*limiter // login attempts by remote address
}

type limiter struct {
	*rate.Limiter
	seen time.Time
}

// New returns a service over store.
func New(store Store, opt Options) *Service {
	opt.defaults()
	return &Service{store: store, opt: opt, limiters: map[string]*limiter{}}
}

// Options returns the effective options, defaults filled in.
// Require fails with kind Forbidden when c's role does not grant perm. Every
// service checks its callers with it, so a refusal reads the same everywhere.
func (c Caller) Require(perm Perm) error {
	if !c.Can(perm) {
		return tansa.Errorf(tansa.Forbidden, "your role %s may not do this (needs %s)", c.Role, perm)
	}
	return nil
}

func (s *Service) Options() Options { return s.opt }

func (s *Service) now() time.Time { return s.opt.Now().UTC().Truncate(time.Microsecond) }

// newID returns a time-ordered unique ID.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

func randomSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// audit builds an audit entry for a change by c.
func (s *Service) audit(c Caller, action, objType, objID, tenantID string, before, after any) tansa.AuditEntry {
	return tansa.AuditEntry{
		Time: s.now(), TenantID: tenantID, Actor: c.actor(), Addr: c.Addr,
		Action: action, ObjectType: objType, ObjectID: objID,
		Before: marshalOrNil(before), After: marshalOrNil(after),
	}
}

func marshalOrNil(v any) []byte {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// notFound is what a caller sees for an object outside its tenants: the
// same answer as for an object that does not exist, so IDs reveal nothing.
func notFound(what, id string) error {
	return tansa.Errorf(tansa.NotFound, "%s %q not found", what, id)
}

// Audit lists audit entries visible to c, newest first.
func (s *Service) Audit(ctx context.Context, c Caller, q AuditQuery) ([]tansa.AuditEntry, int, error) {
	if err := c.Require(PermAuditRead); err != nil {
		return nil, 0, err
	}
	q.Scope = narrow(c, q.Scope)
	return s.store.Audit(ctx, q)
}

// narrow intersects the caller's scope with the tenant a query asks for
// (carried in asked.Tenants[0] when set by the edge).
func narrow(c Caller, asked Scope) Scope {
	sc := c.Scope()
	if len(asked.Tenants) == 1 {
		return sc.Narrow(asked.Tenants[0])
	}
	return sc
}

// Record appends an audit entry for an event that is not a stored change,
// such as an export or a failed login.
func (s *Service) Record(ctx context.Context, c Caller, action, objType, objID, tenantID string) error {
	return s.store.AppendAudit(ctx, s.audit(c, action, objType, objID, tenantID, nil, nil))
}

func newRateLimiter(o Options) *rate.Limiter { return rate.NewLimiter(o.LoginRate, o.LoginBurst) }

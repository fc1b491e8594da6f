package access

import (
	"context"
	"sync"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// dummyHash is checked when a login names no user, so that an unknown
// username takes as long as a wrong password and reveals nothing.
// It is made on first use, not at start-up: each hash costs 19 MiB and tens
// of milliseconds, which every command-line call would otherwise pay.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("tansa-no-such-user")
	return h
})

// Login checks a username and password from addr and, when they match an
// enabled, unlocked user, opens a session and returns its cookie value.
// Failures are audited; too many from one address answer tansa.TooMany, and
// MaxFailures in a row lock the account for Lockout.
func (s *Service) Login(ctx context.Context, username, password, addr string) (string, tansa.User, error) {
	if !s.allow(addr) {
		return "", tansa.User{}, tansa.Errorf(tansa.TooMany, "too many login attempts from this address; wait a minute")
	}
	bad := tansa.Errorf(tansa.Unauthorized, "wrong username or password")
	sys := Caller{Principal: Principal{Kind: "user", Name: username}, Addr: addr}
	u, err := s.store.UserByName(ctx, username)
	if tansa.KindOf(err) == tansa.NotFound {
		CheckPassword(dummyHash(), password)
		_ = s.Record(ctx, sys, "login.fail", "user", "", "")
		return "", tansa.User{}, bad
	} else if err != nil {
		return "", tansa.User{}, err
	}
	sys.ID = u.ID
	now := s.now()
	if now.Before(u.LockedUntil) {
		CheckPassword(dummyHash(), password)
		_ = s.Record(ctx, sys, "login.locked", "user", u.ID, u.TenantID)
		return "", tansa.User{}, tansa.Errorf(tansa.TooMany, "this account is locked after too many failed logins; try again later or ask an administrator")
	}
	if !CheckPassword(u.PasswordHash, password) || u.Disabled {
		failed, locked := u.FailedLogins+1, time.Time{}
		action := "login.fail"
		if failed >= s.opt.MaxFailures {
			failed, locked, action = 0, now.Add(s.opt.Lockout), "login.lockout"
		}
		if err := s.store.RecordLogin(ctx, u.ID, failed, locked, u.LastLogin); err != nil {
			return "", tansa.User{}, err
		}
		_ = s.Record(ctx, sys, action, "user", u.ID, u.TenantID)
		return "", tansa.User{}, bad
	}
	if err := s.store.RecordLogin(ctx, u.ID, 0, time.Time{}, now); err != nil {
		return "", tansa.User{}, err
	}
	cookie := randomSecret(32)
	sess := tansa.Session{Hash: hashSecret(cookie), UserID: u.ID, Created: now, LastSeen: now, Addr: addr}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", tansa.User{}, err
	}
	if err := s.Record(ctx, sys, "login.ok", "user", u.ID, u.TenantID); err != nil {
		return "", tansa.User{}, err
	}
	return cookie, u, nil
}

func (s *Service) allow(addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opt.Now()
	if len(s.limiters) > 10000 { // forget quiet addresses so memory stays bounded
		for a, l := range s.limiters {
			if now.Sub(l.seen) > 10*time.Minute {
				delete(s.limiters, a)
			}
		}
	}
	l, ok := s.limiters[addr]
	if !ok {
		l = &limiter{Limiter: newRateLimiter(s.opt)}
		s.limiters[addr] = l
	}
	l.seen = now
	return l.AllowN(now, 1)
}

// SessionPrincipal authenticates a session cookie. A session idle longer than
// SessionIdle or older than SessionAbsolute is ended and refused.
func (s *Service) SessionPrincipal(ctx context.Context, cookie string) (Principal, error) {
	expired := tansa.Errorf(tansa.Unauthorized, "your session has ended; log in again")
	if cookie == "" || len(cookie) > 100 {
		return Principal{}, expired
	}
	sess, err := s.store.Session(ctx, hashSecret(cookie))
	if tansa.KindOf(err) == tansa.NotFound {
		return Principal{}, expired
	} else if err != nil {
		return Principal{}, err
	}
	now := s.now()
	if now.Sub(sess.LastSeen) > s.opt.SessionIdle || now.Sub(sess.Created) > s.opt.SessionAbsolute {
		if err := s.store.DeleteSession(ctx, sess.Hash); err != nil {
			return Principal{}, err
		}
		return Principal{}, expired
	}
	u, err := s.store.User(ctx, sess.UserID)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && u.Disabled) {
		return Principal{}, expired
	} else if err != nil {
		return Principal{}, err
	}
	if now.Sub(sess.LastSeen) > 30*time.Second {
		sess.LastSeen = now
		if err := s.store.UpdateSession(ctx, sess); err != nil {
			return Principal{}, err
		}
	}
	p := Principal{Kind: "user", ID: u.ID, Name: u.Username, Role: u.Role, TenantID: u.TenantID, Tenants: u.Tenants,
		Language: u.Language, TimeZone: u.TimeZone}
	if sess.TenantID != "" && p.Role.Provider() && p.CanAccess(sess.TenantID) {
		p.Current = sess.TenantID
	}
	return p, nil
}

// SwitchTenant makes a provider user's session look at one tenant, or at all
// of theirs when tenantID is empty.
func (s *Service) SwitchTenant(ctx context.Context, cookie string, c Caller, tenantID string) error {
	if tenantID != "" && (!c.Role.Provider() || !c.CanAccess(tenantID)) {
		return notFound("tenant", tenantID)
	}
	sess, err := s.store.Session(ctx, hashSecret(cookie))
	if err != nil {
		return err
	}
	sess.TenantID = tenantID
	sess.LastSeen = s.now()
	return s.store.UpdateSession(ctx, sess)
}

// Logout ends the session of cookie. Ending an unknown session is not an error.
func (s *Service) Logout(ctx context.Context, cookie string, c Caller) error {
	if err := s.store.DeleteSession(ctx, hashSecret(cookie)); err != nil {
		return err
	}
	return s.Record(ctx, c, "logout", "user", c.ID, c.TenantID)
}

// ExpireSessions removes sessions past their idle or absolute limit and
// returns how many; the server calls it periodically.
func (s *Service) ExpireSessions(ctx context.Context) (int, error) {
	now := s.now()
	return s.store.DeleteSessions(ctx, "", now.Add(-s.opt.SessionIdle), now.Add(-s.opt.SessionAbsolute))
}

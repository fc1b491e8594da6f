package alert

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// ExceptionInput is what a caller gives to create or change an exception.
type ExceptionInput struct {
	TenantID   string      `json:"tenant_id,omitempty"` // empty: the tenant the caller works in
	RuleID     string      `json:"rule_id"`
	Host       string      `json:"host,omitempty"`
	User       string      `json:"user,omitempty"`
	Conditions []Condition `json:"conditions,omitempty"`
	Reason     string      `json:"reason"`
	Owner      string      `json:"owner"`
	Expires    time.Time   `json:"expires,omitzero"` // zero: never
}

// exceptionAudit is what the audit trail keeps of an exception.
func exceptionAudit(e Exception) map[string]any {
	return map[string]any{"rule_id": e.RuleID, "host": e.Host, "user": e.User, "conditions": e.Conditions,
		"reason": e.Reason, "owner": e.Owner, "expires": e.Expires}
}

// CreateException stores a new exception in the tenant in.TenantID names
// (or the caller's), audited.
func (s *Service) CreateException(ctx context.Context, c access.Caller, in ExceptionInput) (Exception, error) {
	if err := c.Require(access.PermRuleWrite); err != nil {
		return Exception{}, err
	}
	tenant, err := s.reach(ctx, c, in.TenantID)
	if err != nil {
		return Exception{}, err
	}
	if tenant == "" {
		return Exception{}, tansa.Errorf(tansa.Invalid, "tenant_id: an exception belongs to one tenant; name it")
	}
	now := s.now()
	e := Exception{ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenant, Creator: c.Kind + ":" + c.Name, Created: now, Updated: now}
	apply(&e, in)
	if err := e.Validate(); err != nil {
		return Exception{}, err
	}
	a := tansa.AuditEntry{Time: now, TenantID: tenant, Actor: e.Creator, Addr: c.Addr, Action: "exception.create",
		ObjectType: "exception", ObjectID: e.ID, After: marshal(exceptionAudit(e))}
	if err := s.store.PutAlertException(ctx, e, a); err != nil {
		return Exception{}, err
	}
	s.invalidate(tenant)
	return e, nil
}

func apply(e *Exception, in ExceptionInput) {
	e.RuleID, e.Host, e.User = strings.TrimSpace(in.RuleID), strings.TrimSpace(in.Host), strings.TrimSpace(in.User)
	e.Conditions, e.Reason, e.Owner = in.Conditions, strings.TrimSpace(in.Reason), strings.TrimSpace(in.Owner)
	if e.Conditions == nil {
		e.Conditions = []Condition{}
	}
	e.Expires = in.Expires.UTC().Truncate(time.Microsecond)
	if in.Expires.IsZero() {
		e.Expires = time.Time{}
	}
}

// UpdateException replaces exception id's fields (not its tenant, hits or
// creator), audited with before and after.
func (s *Service) UpdateException(ctx context.Context, c access.Caller, id string, in ExceptionInput) (Exception, error) {
	if err := c.Require(access.PermRuleWrite); err != nil {
		return Exception{}, err
	}
	old, err := s.Exception(ctx, c, id)
	if err != nil {
		return Exception{}, err
	}
	if in.TenantID != "" && in.TenantID != old.TenantID {
		return Exception{}, tansa.Errorf(tansa.Invalid, "tenant_id: an exception cannot move to another tenant")
	}
	e := old
	apply(&e, in)
	e.Updated = s.now()
	if err := e.Validate(); err != nil {
		return Exception{}, err
	}
	a := tansa.AuditEntry{Time: e.Updated, TenantID: e.TenantID, Actor: c.Kind + ":" + c.Name, Addr: c.Addr, Action: "exception.update",
		ObjectType: "exception", ObjectID: e.ID, Before: marshal(exceptionAudit(old)), After: marshal(exceptionAudit(e))}
	if err := s.store.PutAlertException(ctx, e, a); err != nil {
		return Exception{}, err
	}
	s.invalidate(e.TenantID)
	return e, nil
}

// DeleteException removes exception id, audited; its rule's matches raise
// alerts again.
func (s *Service) DeleteException(ctx context.Context, c access.Caller, id string) (Exception, error) {
	if err := c.Require(access.PermRuleWrite); err != nil {
		return Exception{}, err
	}
	e, err := s.Exception(ctx, c, id)
	if err != nil {
		return Exception{}, err
	}
	a := tansa.AuditEntry{Time: s.now(), TenantID: e.TenantID, Actor: c.Kind + ":" + c.Name, Addr: c.Addr, Action: "exception.delete",
		ObjectType: "exception", ObjectID: e.ID, Before: marshal(exceptionAudit(e))}
	if err := s.store.DeleteAlertException(ctx, id, a); err != nil {
		return Exception{}, err
	}
	s.invalidate(e.TenantID)
	return e, nil
}

// Exception returns exception id when c may see it.
func (s *Service) Exception(ctx context.Context, c access.Caller, id string) (Exception, error) {
	if err := c.Require(access.PermRuleRead); err != nil {
		return Exception{}, err
	}
	e, err := s.store.AlertException(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && !visible(c, e.TenantID)) {
		return Exception{}, tansa.Errorf(tansa.NotFound, "exception %q not found", id)
	}
	return e, err
}

// Exceptions lists the exceptions c may see, newest first, and their total.
func (s *Service) Exceptions(ctx context.Context, c access.Caller, q ExceptionQuery) ([]Exception, int, error) {
	if err := c.Require(access.PermRuleRead); err != nil {
		return nil, 0, err
	}
	q.Scope = scope(c, q.Scope)
	return s.store.AlertExceptions(ctx, q)
}

// Matcher returns tenant's exceptions compiled, for detectors that check
// matches against them with the whole event before raising. It is cached
// until an exception of the tenant changes.
func (s *Service) Matcher(ctx context.Context, tenant string) (*Matcher, error) {
	s.exMu.Lock()
	m, ok := s.matchers[tenant]
	s.exMu.Unlock()
	if ok {
		return m, nil
	}
	var all []Exception
	for p := (access.Page{Limit: 500}); ; p.Offset += p.Limit {
		es, total, err := s.store.AlertExceptions(ctx, ExceptionQuery{Scope: access.Scope{Tenants: []string{tenant}}, Active: s.now(), Page: p})
		if err != nil {
			return nil, err
		}
		all = append(all, es...)
		if p.Offset+p.Limit >= total {
			break
		}
	}
	m = NewMatcher(all)
	s.exMu.Lock()
	s.matchers[tenant] = m
	s.exMu.Unlock()
	return m, nil
}

func (s *Service) invalidate(tenant string) {
	s.exMu.Lock()
	delete(s.matchers, tenant)
	s.exMu.Unlock()
}

// CountSuppressed records matches of tenant that exceptions suppressed:
// their hit counts and last hits in the store, and the
// tansa_alerts_suppressed_total counter.
func (s *Service) CountSuppressed(ctx context.Context, tenant string, hits map[string]Hit) error {
	if len(hits) == 0 {
		return nil
	}
	for id, h := range hits {
		s.suppressed.WithLabelValues(tenant, id).Add(float64(h.Count))
	}
	return s.store.CountExceptionHits(ctx, hits)
}

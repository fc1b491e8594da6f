package server

import (
	"context"
	"strings"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/playbook"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// playbookCases lets playbook steps open and update cases (playbook.Cases)
// through the cases service, as the system principal "playbook" — every
// change audited and on the case's timeline like a person's. The step's
// idempotency key makes a retried create return the case the first try
// made, and a retried note add nothing.
type playbookCases struct {
	svc *cases.Service
}

var _ playbook.Cases = playbookCases{}

func (p playbookCases) caller() access.Caller {
	return access.Caller{Principal: access.System("playbook")}
}

// CreateCase opens a case in tenant from a case.create step.
func (p playbookCases) CreateCase(ctx context.Context, tenant string, in playbook.CaseInput) (string, error) {
	c, err := p.svc.Create(ctx, p.caller(), cases.CaseInput{TenantID: tenant, Title: in.Title, Description: in.Description,
		Severity: in.Severity, Type: in.Template, AlertIDs: in.AlertIDs, Key: in.Key})
	if err != nil {
		return "", err
	}
	return c.ID, nil
}

// UpdateCase applies a case.update step to case id of tenant: Status is a
// phase ("containment"), or "closed:<resolution>" ("closed:true-positive");
// Note is added once per step key.
func (p playbookCases) UpdateCase(ctx context.Context, tenant, id string, in playbook.CaseUpdate) error {
	c := p.caller()
	cs, err := p.svc.Case(ctx, c, id)
	if err != nil {
		return err
	}
	if cs.TenantID != tenant {
		// A run of one tenant never reaches another tenant's case.
		return tansa.Errorf(tansa.NotFound, "case %q not found", id)
	}
	var up cases.UpdateInput
	if in.Status != "" {
		phase, res, _ := strings.Cut(in.Status, ":")
		up.Phase = ptrTo(cases.Phase(phase))
		if res != "" {
			up.Resolution = ptrTo(cases.Resolution(res))
		}
	}
	if in.Severity != "" {
		up.Severity = &in.Severity
	}
	if up.Phase != nil || up.Severity != nil {
		if _, err := p.svc.Update(ctx, c, id, up); err != nil {
			return err
		}
	}
	if in.Note != "" {
		if _, err := p.svc.AddNoteKeyed(ctx, c, id, in.Key, in.Note); err != nil {
			return err
		}
	}
	return nil
}

func ptrTo[T any](v T) *T { return &v }

// caseAlerts lets cases show and check their linked alerts (cases.Alerts)
// through the alert service, as the caller: an alert the caller may not
// see, or of another tenant, is left out as if it did not exist.
type caseAlerts struct {
	svc *alert.Service
}

var _ cases.Alerts = caseAlerts{}

// AlertsByID implements cases.Alerts.
func (a caseAlerts) AlertsByID(ctx context.Context, c access.Caller, tenant string, ids []string) ([]tansa.Alert, error) {
	var out []tansa.Alert
	for _, id := range ids {
		al, err := a.svc.Get(ctx, c, id)
		if tansa.KindOf(err) == tansa.NotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		if al.TenantID == tenant {
			out = append(out, al)
		}
	}
	return out, nil
}

package cases

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/retro"
	intelsvc "github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// IndicatorSearch is the part of the intelligence service that Known
// needs; *intelsvc.Service implements it.
type IndicatorSearch interface {
	Indicators(ctx context.Context, c access.Caller, q intelsvc.Query) ([]intelsvc.Record, int, error)
}

// IntelLookup answers Intel over the intelligence service: an observable is
// known when the tenant's view of intelligence (its own indicators and the
// global ones it may see, as the service decides for the caller) holds an
// indicator of the same type and value.
type IntelLookup struct {
	Search IndicatorSearch
	Now    func() time.Time
}

// maxIntelLookups bounds the observables looked up for one case page.
const maxIntelLookups = 200

// Known implements Intel. Observables past the first 200 are not looked up.
func (l IntelLookup) Known(ctx context.Context, c access.Caller, tenant string, obs []Observable) (map[string][]IntelMatch, error) {
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	out := map[string][]IntelMatch{}
	for i, o := range obs {
		if i >= maxIntelLookups {
			break
		}
		recs, _, err := l.Search.Indicators(ctx, c, intelsvc.Query{Scope: access.Scope{Tenants: []string{tenant}},
			Type: intel.Type(o.Type), Text: o.Value, Page: access.Page{Limit: 20}})
		if err != nil {
			return nil, fmt.Errorf("look up %s %q in intelligence: %w", o.Type, o.Value, err)
		}
		for _, r := range recs {
			if r.Indicator.Value != o.Value {
				continue
			}
			out[o.ID] = append(out[o.ID], IntelMatch{IndicatorID: r.ID, TenantID: r.Indicator.TenantID, Name: r.Indicator.Name,
				TLP: string(r.Indicator.TLP), Active: r.Indicator.Active(now)})
		}
	}
	return out, nil
}

// EventSearch is the part of the event service that EventHunter needs;
// *events.Service implements it.
type EventSearch interface {
	Search(ctx context.Context, c access.Caller, q events.Query) ([]tansa.Event, int, error)
}

// IndicatorHunter starts the intelligence service's retro-hunt of one
// indicator; *retro.Service implements it.
type IndicatorHunter interface {
	HuntIndicator(ctx context.Context, c access.Caller, indicatorID, asked string) ([]retro.Job, error)
}

// EventHunter retro-hunts an observable: it counts the tenant's stored
// events that mention the value (the event store's observable index,
// whenever they arrived) and links the event search that lists them; and
// when the value is a known indicator and Hunts is set, it also starts the
// intelligence service's retro-hunt of that indicator, which records its
// hits (events and sweep results) with the indicator.
type EventHunter struct {
	Search EventSearch
	Intel  Intel           // optional: finds the indicator the value is
	Hunts  IndicatorHunter // optional: hunts it
}

// RetroHunt implements RetroHunter.
func (h EventHunter) RetroHunt(ctx context.Context, c access.Caller, tenant string, o Observable) (RetroHuntResult, error) {
	_, n, err := h.Search.Search(ctx, c, events.Query{Scope: access.Scope{Tenants: []string{tenant}}, Observable: o.Value})
	if err != nil {
		return RetroHuntResult{}, err
	}
	res := RetroHuntResult{Matches: n, Link: "/events?" + url.Values{"observable": {o.Value}, "tenant": {tenant}}.Encode(),
		Summary: fmt.Sprintf("%d stored events mention it", n)}
	if h.Intel == nil || h.Hunts == nil || !c.Can(access.PermIntelRead) || !c.Can(access.PermIntelWrite) {
		return res, nil
	}
	known, err := h.Intel.Known(ctx, c, tenant, []Observable{o})
	if err != nil {
		return RetroHuntResult{}, err
	}
	for _, m := range known[o.ID] {
		jobs, err := h.Hunts.HuntIndicator(ctx, c, m.IndicatorID, tenant)
		if tansa.KindOf(err) == tansa.Invalid {
			continue // a type matched live only, never hunted in stored data
		}
		if err != nil {
			return RetroHuntResult{}, err
		}
		for _, j := range jobs {
			res.Summary += fmt.Sprintf("; intelligence retro-hunt %s started for indicator %s", j.ID, m.IndicatorID)
		}
	}
	return res, nil
}

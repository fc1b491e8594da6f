package playbook

import (
	"context"

	"github.com/tansa-sec/tansa/internal/intel"
	intelsvc "github.com/tansa-sec/tansa/internal/intel/service"
)

// BlockingIntel is the intel store as the intel service sees it, with the
// values playbooks blocked added to each tenant's block candidates: the
// EDL and RPZ feeds a tenant's firewalls and resolvers pull then carry
// them, under the same rules as indicators (never an allowlisted value).
type BlockingIntel struct {
	intelsvc.Store
	Blocks interface {
		Blocks(ctx context.Context, tenant string) ([]Block, error)
	}
}

// BlockCandidates returns the intel store's candidates and the tenant's
// blocked values.
func (b BlockingIntel) BlockCandidates(ctx context.Context, tenant string) ([]intel.Indicator, error) {
	inds, err := b.Store.BlockCandidates(ctx, tenant)
	if err != nil || tenant == "" {
		return inds, err
	}
	blocks, err := b.Blocks.Blocks(ctx, tenant)
	if err != nil {
		return nil, err
	}
	for _, bl := range blocks {
		inds = append(inds, intel.Indicator{ID: "block--" + bl.Type + "--" + bl.Value, TenantID: tenant, Type: intel.Type(bl.Type),
			Value: bl.Value, Name: bl.Reason, Confidence: 100, TLP: intel.TLPAmber, ValidFrom: bl.Created, Source: "playbook " + bl.RunID})
	}
	return inds, nil
}

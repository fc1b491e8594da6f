package demo

import (
	"context"

	"github.com/tansa-sec/tansa/internal/intel/importer"
	intelsvc "github.com/tansa-sec/tansa/internal/intel/service"
)

// demoGlobalIntel is a provider-wide feed: two C2 names, a phishing URL,
// and an address in a documentation range, which the allowlist flags so
// that it never reaches a block list. Names are under .test (RFC 2606).
const demoGlobalIntel = `# Demo C2 servers (shared with every tenant)
c2.sakura-demo-threat.test
update-check.sakura-demo-threat.test
hxxp://login-portal.sakura-demo-threat[.]test/owa/auth
203.0.113.66
`

// demoHQIntel is the head office's own list, in CSV with context.
const demoHQIntel = `value,type,confidence,tlp,description
phish.sakura-demo-lure.test,domain,80,amber,Spear-phishing lure sent to the finance team
45.77.200.10,ipv4,70,amber,Exfiltration server seen in the 2026 incident
`

// seedIntel imports a global feed and the head office's own indicators, so
// the demo's block-list feeds have entries.
func seedIntel(ctx context.Context, e *Env) error {
	if e.Intel == nil {
		return nil
	}
	if _, err := e.Intel.Import(ctx, sys, []byte(demoGlobalIntel), intelsvc.ImportInput{Format: importer.FormatText, Source: "demo global feed"}); err != nil {
		return err
	}
	_, err := e.Intel.Import(ctx, sys, []byte(demoHQIntel), intelsvc.ImportInput{Format: importer.FormatCSV, TenantID: e.HQ.ID, Source: "demo head-office list"})
	return err
}

package demo

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel/blocklist"
	intelsvc "github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
)

func TestSeedIntel(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tansa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := access.New(db, access.Options{})
	in, err := intelsvc.New(db, acc, intelsvc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Seed(ctx, Env{Access: acc, Intel: in}); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	ims, _, err := in.Imports(ctx, sys, intelsvc.ImportQuery{Page: access.Page{Limit: 10}})
	if err != nil || len(ims) != 2 {
		t.Fatalf("import log: %d entries, %v; want 2", len(ims), err)
	}
	for _, im := range ims {
		if im.Result.RejectedCount != 0 || im.Result.SkippedCount != 0 || im.Result.Added == 0 {
			t.Errorf("demo import %s: %+v, want everything added", im.Source, im.Result)
		}
	}
	hq, _, err := acc.Tenants(ctx, sys, access.TenantQuery{Text: "Head Office", Page: access.Page{Limit: 1}})
	if err != nil || len(hq) != 1 {
		t.Fatal(hq, err)
	}
	l, err := in.BlockList(ctx, sys, hq[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var ips, doms strings.Builder
	l.WriteEDL(&ips, blocklist.KindIP)
	l.WriteEDL(&doms, blocklist.KindDomain)
	if ips.String() != "45.77.200.10\n" {
		t.Errorf("head office IP list = %q, want its own address and not the allowlisted documentation one", ips.String())
	}
	for _, d := range []string{"c2.sakura-demo-threat.test", "phish.sakura-demo-lure.test"} {
		if !strings.Contains(doms.String(), d+"\n") {
			t.Errorf("head office domain list lacks %s:\n%s", d, doms.String())
		}
	}
}

package ioc_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/detect/ioc"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/ingest"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

var _ ingest.Detector = (*ioc.Detector)(nil)

type recorder struct {
	mu     sync.Mutex
	alerts []tansa.Alert
}

func (r *recorder) Raise(_ context.Context, as []tansa.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, as...)
	return nil
}

// campaign is a STIX bundle: an indicator of C2 traffic with its campaign,
// actor and handling, as a partner would share it.
const campaign = `{"type":"bundle","id":"bundle--0f8cf3c4-7b25-4a53-8a70-1f0ef0e5d3a1","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--1b1a1e8a-6d5c-4bd8-9d8e-6b7b4c7c1a01","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z",
  "name":"Blue Lotus C2","pattern":"[domain-name:value = 'c2.bluelotus.example']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z","confidence":90,
  "kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"command-and-control"}]},
 {"type":"campaign","spec_version":"2.1","id":"campaign--2c2a2e8a-6d5c-4bd8-9d8e-6b7b4c7c1a02","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z","name":"Operation Blue Lotus"},
 {"type":"threat-actor","spec_version":"2.1","id":"threat-actor--3c3a2e8a-6d5c-4bd8-9d8e-6b7b4c7c1a03","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z","name":"APT-Lotus"},
 {"type":"relationship","spec_version":"2.1","id":"relationship--4d4a2e8a-6d5c-4bd8-9d8e-6b7b4c7c1a04","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z","relationship_type":"indicates","source_ref":"indicator--1b1a1e8a-6d5c-4bd8-9d8e-6b7b4c7c1a01","target_ref":"campaign--2c2a2e8a-6d5c-4bd8-9d8e-6b7b4c7c1a02"},
 {"type":"relationship","spec_version":"2.1","id":"relationship--5e5a2e8a-6d5c-4bd8-9d8e-6b7b4c7c1a05","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z","relationship_type":"attributed-to","source_ref":"campaign--2c2a2e8a-6d5c-4bd8-9d8e-6b7b4c7c1a02","target_ref":"threat-actor--3c3a2e8a-6d5c-4bd8-9d8e-6b7b4c7c1a03"}]}`

func TestLiveMatchingRaisesAlertsWithContext(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tansa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sys := access.Caller{Principal: access.System("test")}
	acc := access.New(db, access.Options{})
	var ts []string
	for _, name := range []string{"Alpha", "Bravo"} {
		tn, err := acc.CreateTenant(ctx, sys, access.TenantInput{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tn.ID)
	}
	a, b := ts[0], ts[1]
	svc, err := service.New(db, acc, service.Options{})
	if err != nil {
		t.Fatal(err)
	}
	imp := func(tenant, doc string, f importer.Format) {
		t.Helper()
		if _, err := svc.Import(ctx, sys, []byte(doc), service.ImportInput{Format: f, TenantID: tenant, Source: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	imp("", campaign, importer.FormatSTIX)                            // global, with context
	imp(a, "92.168.1.1\n8.8.8.8\n45.77.61.11\n", importer.FormatText) // A's own; 8.8.8.8 is allowlisted

	rec := &recorder{}
	d := ioc.New(db, rec, ioc.Options{})
	if _, err := d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	batch := func(tenant string, fields ...map[string]any) []events.Record {
		var out []events.Record
		for i, f := range fields {
			ev := &tansa.Event{ID: tenant[:8] + "-" + string(rune('a'+i)), TenantID: tenant, Time: now, Format: "json", Fields: f}
			out = append(out, events.Record{Event: ev, Observables: normalize.Observables(ev)})
		}
		return out
	}
	d.Detect(ctx, a, batch(a,
		map[string]any{"source.ip": "192.168.1.1", "destination.ip": "8.8.8.8"},                     // no token hit, allowlisted
		map[string]any{"dns.question.name": "www.C2.BlueLotus.example", "host.name": "ws01"},        // subdomain of a global indicator
		map[string]any{"destination.ip": "45.77.61.11", "host.name": "ws02", "user.name": "hanako"}, // A's own
		map[string]any{"url.full": "https://c2.bluelotus.example/beacon", "host.name": "ws01"},      // same indicator, second event
	))
	d.Detect(ctx, b, batch(b,
		map[string]any{"destination.ip": "45.77.61.11"},             // A's indicator: not B's business
		map[string]any{"dns.question.name": "notbluelotus.example"}, // not at a label boundary
	))
	byRule := map[string]tansa.Alert{}
	for _, al := range rec.alerts {
		if al.TenantID != a {
			t.Errorf("alert in tenant %s: %+v", al.TenantID, al)
		}
		byRule[al.GroupKey] = al
	}
	if len(rec.alerts) != 2 {
		t.Fatalf("%d alerts, want 2: %+v", len(rec.alerts), rec.alerts)
	}
	c2 := byRule["c2.bluelotus.example"]
	if c2.Kind != tansa.AlertIOC || c2.Count != 2 || c2.Level != "high" || c2.Host != "ws01" || !slices.Equal(c2.EventIDs, []string{a[:8] + "-b", a[:8] + "-d"}) {
		t.Errorf("domain alert = %+v", c2)
	}
	var cx intel.AlertContext
	if err := json.Unmarshal(c2.Context, &cx); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cx.Campaigns, "Operation Blue Lotus") || !slices.Contains(cx.ThreatActors, "APT-Lotus") || cx.Confidence != 90 || !cx.Global || cx.Observed != "www.c2.bluelotus.example" {
		t.Errorf("domain alert context = %+v", cx)
	}
	own := byRule["45.77.61.11"]
	if own.User != "hanako" || own.Count != 1 {
		t.Errorf("own alert = %+v", own)
	}
	// Each alert is a sighting of its indicator in tenant A.
	r, err := svc.Indicator(ctx, sys, own.RuleID)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Indicator.Sightings) != 1 || r.Indicator.Sightings[0].TenantID != a || r.Indicator.Sightings[0].Where != "ws02" {
		t.Errorf("sightings = %+v", r.Indicator.Sightings)
	}

	// A new indicator matches once the snapshot is rebuilt, and Run
	// rebuilds on Changed.
	imp(b, "185.220.101.200\n", importer.FormatText)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); d.Run(runCtx) }()
	d.Changed()
	deadline := time.Now().Add(10 * time.Second)
	for d.Snapshot().Len() < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
	rec.alerts = nil
	d.Detect(ctx, b, batch(b, map[string]any{"source.ip": "185.220.101.200"}))
	if len(rec.alerts) != 1 || rec.alerts[0].TenantID != b {
		t.Errorf("after the reload: alerts = %+v", rec.alerts)
	}
}

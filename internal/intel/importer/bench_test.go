package importer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/intel"
)

// stixBundle builds a bundle of n objects: indicators (atomic and
// complex), malware, threat actors and "indicates" relationships, in the
// proportions of a vendor feed.
func stixBundle(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","objects":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		switch i % 4 {
		case 0, 1:
			fmt.Fprintf(&b, `{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"C2 %d","pattern":"[ipv4-addr:value = '%d.%d.%d.%d' OR domain-name:value = 'c2-%d.example.net']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","confidence":80,"labels":["c2"],"object_marking_refs":["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]}`,
				id, i, 1+i%220, (i>>8)&255, (i>>16)&255, 1+i%250, i)
		case 2:
			fmt.Fprintf(&b, `{"type":"malware","spec_version":"2.1","id":"malware--%s","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Family %d","is_family":true}`, id, i%50)
		case 3:
			src := fmt.Sprintf("%08x-0000-4000-8000-%012x", i-3, i-3)
			dst := fmt.Sprintf("%08x-0000-4000-8000-%012x", i-1, i-1)
			fmt.Fprintf(&b, `{"type":"relationship","spec_version":"2.1","id":"relationship--%s","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","relationship_type":"indicates","source_ref":"indicator--%s","target_ref":"malware--%s"}`, id, src, dst)
		}
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// BenchmarkImportSTIX measures whole-bundle import into an intel.Set:
// parse, pattern parse, context walk, normalisation and merge.
func BenchmarkImportSTIX(b *testing.B) {
	const n = 20000
	data := stixBundle(n)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		res, err := Import(context.Background(), data, Options{Now: fixedNow}, intel.NewSet())
		if err != nil || res.RejectedCount != 0 || res.Items != n {
			b.Fatalf("import: %v %+v", err, res)
		}
	}
	reportRate(b, n, cpuTime()-cpu0, "objects")
}

// BenchmarkImportList measures a plain IP/domain list, ThreatFox style.
func BenchmarkImportList(b *testing.B) {
	const n = 100000
	var sb strings.Builder
	sb.WriteString("# ThreatFox-style list\n")
	for i := 0; i < n; i++ {
		if i%5 == 0 {
			fmt.Fprintf(&sb, "c2-%d.example-bad.net\n", i)
		} else {
			fmt.Fprintf(&sb, "%d.%d.%d.%d\n", 1+i%220, (i>>8)&255, (i>>16)&255, 1+i%250)
		}
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		res, err := Import(context.Background(), data, Options{Now: fixedNow, Format: FormatText}, intel.NewSet())
		if err != nil || res.Items != n {
			b.Fatalf("import: %v %+v", err, res)
		}
	}
	reportRate(b, n, cpuTime()-cpu0, "indicators")
}

// reportRate reports items per wall-clock second and per CPU second. The
// import runs on one goroutine; CPU time includes the collector's work on
// the other core, so items/cpu-s is a conservative single-core figure that
// an oversubscribed machine does not distort the way it distorts wall time.
func reportRate(b *testing.B, perOp int, cpu time.Duration, unit string) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), unit+"/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N*perOp)/cpu.Seconds(), unit+"/cpu-s")
	}
}

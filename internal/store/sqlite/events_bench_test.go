package sqlite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// BenchmarkEventsPut stores batches of 500 firewall events with four
// observables each, as the ingest workers do, and reports events/s. Its
// twin is in internal/store/postgres/events_bench_test.go; keep the events
// the same, so that the figures compare.
//
//	go test -run '^$' -bench BenchmarkEventsPut -benchtime 200x ./internal/store/sqlite/
func BenchmarkEventsPut(b *testing.B) {
	path := filepath.Join(b.TempDir(), "events.db")
	s, err := sqlite.OpenEvents(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	batches := firewallBatches(b.N, 500)
	b.ResetTimer()
	for _, batch := range batches {
		if err := s.Put(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "events/s")
	// Closing the last connection checkpoints the WAL into the file.
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if st, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(st.Size())/float64(b.N*500), "bytes/event")
	}
}

// firewallBatches returns n batches of size FortiGate traffic logs, each
// event with its own ID and a time 10 ms after the previous one.
func firewallBatches(n, size int) [][]events.Record {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	actions := []string{"accept", "deny", "close", "timeout"}
	users := []string{"alice", "bob", "carol", "dave", "erin"}
	out := make([][]events.Record, n)
	for i := range out {
		batch := make([]events.Record, size)
		for j := range batch {
			k := i*size + j
			at := t0.Add(time.Duration(k) * 10 * time.Millisecond)
			src := fmt.Sprintf("10.%d.%d.%d", k%4, k/7%256, k%251)
			dst := fmt.Sprintf("203.0.%d.%d", k/13%256, k%97)
			sport, dport := 1024+k%60000, []int{443, 80, 53, 22, 3389}[k%5]
			action, user, fw := actions[k%4], users[k%5], fmt.Sprintf("fw-%02d", k%8)
			raw := fmt.Sprintf(`date=%s time=%s devname="%s" devid="FG100F%07d" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=%s srcport=%d srcintf="port1" dstip=%s dstport=%d dstintf="wan1" sessionid=%d proto=6 action="%s" policyid=%d service="HTTPS" duration=%d sentbyte=%d rcvdbyte=%d user="%s"`,
				at.Format("2006-01-02"), at.Format("15:04:05"), fw, k%8, src, sport, dst, dport, k, action, k%40, k%300, k*37%100000, k*91%1000000, user)
			ev := &tansa.Event{ID: fmt.Sprintf("fw-%012d", k), TenantID: fmt.Sprintf("tenant-%d", k%3), Time: at, Received: at.Add(time.Second),
				Source: "syslog:192.0.2.1", Format: "kv", Raw: []byte(raw), Fields: map[string]any{
					"source.ip": src, "source.port": int64(sport), "destination.ip": dst, "destination.port": int64(dport),
					"network.transport": "tcp", "event.action": action, "user.name": user, "observer.name": fw,
					"rule.id": fmt.Sprint(k % 40), "source.bytes": int64(k * 37 % 100000), "destination.bytes": int64(k * 91 % 1000000),
				}}
			batch[j] = events.Record{Event: ev, Observables: []normalize.Observable{
				{Type: normalize.IP, Value: src}, {Type: normalize.IP, Value: dst},
				{Type: normalize.User, Value: user}, {Type: normalize.Host, Value: fw},
			}}
		}
		out[i] = batch
	}
	return out
}

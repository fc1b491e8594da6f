package postgres_test

import (
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/store/postgres"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// BenchmarkEventsPut stores batches of 500 firewall events with four
// observables each, as the ingest workers do, and reports events/s: from
// one writer, as SQLite's twin (internal/store/sqlite/events_bench_test.go)
// does, and from four at once, as a cluster's nodes do.
//
//	TANSA_TEST_POSTGRES_URL=… go test -run '^$' -bench BenchmarkEventsPut -benchtime 200x ./internal/store/postgres/
func BenchmarkEventsPut(b *testing.B) {
	base := os.Getenv("TANSA_TEST_POSTGRES_URL")
	if base == "" {
		b.Skip("TANSA_TEST_POSTGRES_URL not set: PostgreSQL event store benchmark skipped")
	}
	for _, writers := range []int{1, 4} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, err := postgres.OpenEvents(b.Context(), benchSchema(b, base))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			batches := firewallBatches(b.N, 500)
			var next atomic.Int64
			errs := make(chan error, writers)
			b.ResetTimer()
			for range writers {
				go func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(len(batches)) {
							errs <- nil
							return
						}
						if err := s.Put(b.Context(), batches[i]); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			for range writers {
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// benchSchema creates an empty schema for b, dropped when b ends, and
// returns base with that schema as its search_path (freshSchema's twin for
// benchmarks).
func benchSchema(b *testing.B, base string) string {
	b.Helper()
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		b.Fatalf("parse TANSA_TEST_POSTGRES_URL: %v", err)
	}
	admin := stdlib.OpenDB(*cfg)
	b.Cleanup(func() { admin.Close() })
	schema := "tansa_bench_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(b.Context(), "CREATE SCHEMA "+schema); err != nil {
		b.Fatalf("create schema %s: %v", schema, err)
	}
	b.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			b.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		b.Fatalf("TANSA_TEST_POSTGRES_URL must be a postgres:// URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// firewallBatches returns n batches of size FortiGate traffic logs, each
// event with its own ID and a time 10 ms after the previous one: the same
// events as SQLite's benchmark stores.
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

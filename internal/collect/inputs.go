package collect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/tansa-sec/tansa/internal/tansa"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Publisher persists a batch for a tenant; the bus implements it. A
// publish with an id seen in the last two minutes is stored once.
type Publisher interface {
	Publish(ctx context.Context, tenant, id string, payload []byte) error
}

// Inputs holds what every input shares: where batches go, the clock and
// the counters.
type Inputs struct {
	pub      Publisher
	now      func() time.Time
	accepted *prometheus.CounterVec
	refused  *prometheus.CounterVec
	acks     ackCounter
	pressure Pressure
}

// Pressure says when a tenant's records wait on the bus faster than they
// are stored; the ingest pipeline implements it from the bus's backlog.
type Pressure interface {
	Busy(tenant string) bool
}

// SetPressure makes the inputs hold back while p says a tenant is busy:
// HTTP inputs answer "busy, retry later" (HEC 503 with code 9 and
// Retry-After, Elasticsearch 429) and stream inputs stop reading, so that
// the bus's backlog stays bounded and nothing is taken that could not be
// stored. Call it before the inputs serve.
func (in *Inputs) SetPressure(p Pressure) { in.pressure = p }

// admit refuses a request of input for tenant while tenant is busy,
// counting its refusal.
func (in *Inputs) admit(input, tenant string) error {
	if in.pressure == nil || !in.pressure.Busy(tenant) {
		return nil
	}
	in.refused.WithLabelValues(input, "busy").Inc()
	return tansa.Errorf(tansa.Unavailable, "tenant %s has more records waiting than the store keeps up with; retry later", tenant)
}

// waitIdle blocks while tenant is busy: a stream input that does not read
// makes its sender wait (TCP's flow control).
func (in *Inputs) waitIdle(ctx context.Context, tenant string) {
	for in.pressure != nil && in.pressure.Busy(tenant) && ctx.Err() == nil {
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// NewInputs returns inputs publishing to pub, counting on reg.
func NewInputs(pub Publisher, reg prometheus.Registerer) *Inputs {
	in := &Inputs{
		pub: pub,
		now: time.Now,
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tansa_ingest_records_total", Help: "Records accepted and persisted, by input.",
		}, []string{"input"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tansa_ingest_refused_total", Help: "Records refused (sender told to retry, or lost on UDP), by input and reason; for reason busy, requests.",
		}, []string{"input", "reason"}),
	}
	reg.MustRegister(in.accepted, in.refused)
	return in
}

// chunkRecords and chunkBytes bound one bus message: NATS's default
// maximum payload is 1 MiB.
const (
	chunkRecords = 2000
	chunkBytes   = 900 << 10
)

// Publish persists recs for tenant in chunks and returns once every chunk
// is stored. key identifies the request so that a sender's retry of the
// same request is stored once (the chunk IDs derive from it); empty means
// no deduplication. input names the input in the counters.
func (in *Inputs) Publish(ctx context.Context, input, tenant, key string, recs []Record) error {
	for start, part := 0, 0; start < len(recs); part++ {
		end, size := start, 0
		for end < len(recs) && end-start < chunkRecords && (size == 0 || size+len(recs[end].Raw) < chunkBytes) {
			size += len(recs[end].Raw) + 64
			end++
		}
		id := ""
		if key != "" {
			id = fmt.Sprintf("%s-%d", key, part)
		}
		if err := in.pub.Publish(ctx, tenant, id, EncodeBatch(recs[start:end])); err != nil {
			in.refused.WithLabelValues(input, "queue").Add(float64(len(recs) - start))
			return err
		}
		in.accepted.WithLabelValues(input).Add(float64(end - start))
		start = end
	}
	return nil
}

// requestKey derives an idempotency key from what identifies a request.
func requestKey(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

package collect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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
			Name: "tansa_ingest_refused_total", Help: "Records refused (sender told to retry, or lost on UDP), by input and reason.",
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

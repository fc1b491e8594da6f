// Package bus is the pipeline's durable queue, on NATS JetStream: an
// in-process server by default, an external NATS cluster when configured.
//
// Collectors publish a tenant's records with Publish, which returns only
// after JetStream has persisted them, so that a collector acknowledges its
// sender only for data that survives a crash. Ingest workers take a
// tenant's messages with Fetch and Ack each once its events are stored;
// a message not acknowledged is delivered again after a restart. Each
// tenant has its own subject and consumer, so one noisy tenant's backlog
// never stands in front of another's.
package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// Options configures the bus.
type Options struct {
	// Dir is where the embedded server keeps its streams. Ignored with URL.
	Dir string
	// URL connects to an external NATS cluster instead of embedding one.
	URL string
	// Stream names the stream (INGEST); tests use unique names to share a
	// server.
	Stream string
	// MaxBytes bounds the stream's size on disk (8 GiB). When it is full,
	// Publish fails with tansa.Unavailable: overload is refused, never
	// dropped.
	MaxBytes int64
	// Replicas is the stream's replication factor in a cluster (1).
	Replicas int
}

// Bus is a connection to the stream. It is safe for concurrent use.
type Bus struct {
	opt    Options
	srv    *server.Server // the embedded server, or nil
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	prefix string // subject prefix, "tansa.<stream>."

	// consumers caches each tenant's durable consumer: creating (or
	// updating) one is a JetStream API call that writes and syncs the
	// consumer's metadata file, and doing it on every Fetch cost more
	// server CPU than fetching.
	cmu       sync.Mutex
	consumers map[string]jetstream.Consumer
}

// Open starts the embedded server (or connects to opt.URL) and makes sure
// the stream exists.
func Open(ctx context.Context, opt Options) (*Bus, error) {
	if opt.Stream == "" {
		opt.Stream = "INGEST"
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = 8 << 30
	}
	if opt.Replicas <= 0 {
		opt.Replicas = 1
	}
	b := &Bus{opt: opt, prefix: "tansa." + strings.ToLower(opt.Stream) + "."}
	var err error
	if opt.URL != "" {
		b.nc, err = nats.Connect(opt.URL, nats.Name("tansa"), nats.MaxReconnects(-1))
		if err != nil {
			return nil, fmt.Errorf("connect to NATS at %s: %w", opt.URL, err)
		}
	} else {
		if b.srv, err = embedded(opt.Dir); err != nil {
			return nil, err
		}
		b.nc, err = nats.Connect("", nats.InProcessServer(b.srv), nats.Name("tansa"))
		if err != nil {
			b.srv.Shutdown()
			return nil, fmt.Errorf("connect to the embedded NATS server: %w", err)
		}
	}
	if b.js, err = jetstream.New(b.nc); err != nil {
		b.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	b.stream, err = b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       opt.Stream,
		Subjects:   []string{b.prefix + "*"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.WorkQueuePolicy, // a message is gone once its events are stored
		Discard:    jetstream.DiscardNew,      // a full stream refuses, it never drops what it holds
		MaxBytes:   opt.MaxBytes,
		Duplicates: 2 * time.Minute, // a publish retried with the same ID is stored once
		Replicas:   opt.Replicas,
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("create stream %s: %w", opt.Stream, err)
	}
	if b.srv != nil {
		// This process is the embedded stream's only consumer, and a fresh
		// process has nothing in flight: dropping the consumers makes every
		// message that was fetched but not acknowledged before a crash come
		// back at once, instead of after its ack wait. Acknowledged messages
		// are already gone from a work queue, so nothing is delivered twice.
		for name := range b.stream.ConsumerNames(ctx).Name() {
			if err := b.stream.DeleteConsumer(ctx, name); err != nil {
				b.Close()
				return nil, fmt.Errorf("reset consumer %s: %w", name, err)
			}
		}
	}
	return b, nil
}

// embeddedReady is how long embedded waits for the server to be ready.
const embeddedReady = 2 * time.Minute

// embedded starts an in-process JetStream server with no network listener.
// SyncAlways makes every acknowledged publish reach the disk before the
// acknowledgement, so kill -9 or a power cut loses nothing acknowledged.
func embedded(dir string) (*server.Server, error) {
	if dir == "" {
		return nil, errors.New("bus: the embedded server needs a directory")
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "tansa",
		DontListen: true,
		JetStream:  true,
		StoreDir:   dir,
		SyncAlways: true,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: %w", err)
	}
	srv.Start()
	// JetStream's start-up syncs its metadata to disk; on a machine whose
	// disk is busy that has taken more than 30 s, so wait longer before
	// calling it a failure.
	if !srv.ReadyForConnections(embeddedReady) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded NATS server did not become ready in %s", embeddedReady)
	}
	return srv, nil
}

// DeleteStream removes the stream and everything in it. Tests use it to
// leave an external server as they found it.
func (b *Bus) DeleteStream(ctx context.Context) error {
	return b.js.DeleteStream(ctx, b.opt.Stream)
}

// Close drains the connection and stops the embedded server.
func (b *Bus) Close() error {
	if b.nc != nil {
		b.nc.Close()
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
	return nil
}

func (b *Bus) subject(tenant string) (string, error) {
	if tenant == "" || strings.ContainsAny(tenant, ".*> \t\r\n") {
		return "", tansa.Errorf(tansa.Invalid, "bus: tenant %q cannot name a subject", tenant)
	}
	return b.prefix + tenant, nil
}

// Publish stores payload for tenant and returns once it is persisted. id,
// when not empty, makes the publish idempotent: a retry with the same id
// within two minutes is stored once. A full stream answers
// tansa.Unavailable.
func (b *Bus) Publish(ctx context.Context, tenant, id string, payload []byte) error {
	subj, err := b.subject(tenant)
	if err != nil {
		return err
	}
	var opts []jetstream.PublishOpt
	if id != "" {
		opts = append(opts, jetstream.WithMsgID(id))
	}
	if _, err := b.js.Publish(ctx, subj, payload, opts...); err != nil {
		// JetStream reports a full stream only in its error text.
		if msg := err.Error(); strings.Contains(msg, "maximum bytes exceeded") || strings.Contains(msg, "resource limits exceeded") ||
			strings.Contains(msg, "insufficient resources") {
			return tansa.Errorf(tansa.Unavailable, "the ingest queue is full; retry later")
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoStreamResponse) {
			return &tansa.Error{Kind: tansa.Unavailable, Message: "the ingest queue did not confirm in time; retry", Err: err}
		}
		return fmt.Errorf("publish to %s: %w", subj, err)
	}
	return nil
}

// Msg is one message taken from the stream.
type Msg struct {
	Tenant string
	Seq    uint64 // the stream sequence: unique and stable across redelivery
	Data   []byte
	msg    jetstream.Msg
}

// Ack removes the message from the stream; call it once the message's
// events are durably stored.
func (m Msg) Ack() error { return m.msg.DoubleAck(context.Background()) }

// AckAll acknowledges msgs, taken together by one Fetch, once their
// events are stored: every one but the last without waiting for the
// server's confirmation, the last with it, so that the call returns once
// the server has them all (it takes a connection's messages in order). A
// wait per message cost a round trip each. An acknowledgement lost in a
// crash only brings its message back, and its events are then skipped by
// ID.
func AckAll(msgs []Msg) error {
	for i, m := range msgs {
		if i == len(msgs)-1 {
			return m.Ack()
		}
		if err := m.msg.Ack(); err != nil {
			return err
		}
	}
	return nil
}

// Nak asks for the message to be delivered again after delay.
func (m Msg) Nak(delay time.Duration) error { return m.msg.NakWithDelay(delay) }

// consumer returns tenant's durable consumer, creating it on first use.
func (b *Bus) consumer(ctx context.Context, tenant string) (jetstream.Consumer, error) {
	b.cmu.Lock()
	c, ok := b.consumers[tenant]
	b.cmu.Unlock()
	if ok {
		return c, nil
	}
	subj, err := b.subject(tenant)
	if err != nil {
		return nil, err
	}
	c, err = b.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       "t-" + tenant,
		FilterSubject: subj,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second, // a worker that dies mid-batch on another node is replaced this fast
		MaxAckPending: 10000,
	})
	if err != nil {
		return nil, err
	}
	b.cmu.Lock()
	if b.consumers == nil {
		b.consumers = map[string]jetstream.Consumer{}
	}
	b.consumers[tenant] = c
	b.cmu.Unlock()
	return c, nil
}

// forget drops tenant's cached consumer after a failed fetch, so that the
// next one creates it again (it may have been deleted with its stream).
func (b *Bus) forget(tenant string) {
	b.cmu.Lock()
	delete(b.consumers, tenant)
	b.cmu.Unlock()
}

// Fetch takes up to max messages of tenant, waiting at most wait for the
// first. It returns no messages and no error when there are none.
func (b *Bus) Fetch(ctx context.Context, tenant string, max int, wait time.Duration) ([]Msg, error) {
	c, err := b.consumer(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("consumer for %s: %w", tenant, err)
	}
	batch, err := c.Fetch(max, jetstream.FetchMaxWait(wait))
	if err != nil {
		b.forget(tenant)
		return nil, fmt.Errorf("fetch %s: %w", tenant, err)
	}
	var out []Msg
	for m := range batch.Messages() {
		meta, err := m.Metadata()
		if err != nil {
			return out, fmt.Errorf("message metadata: %w", err)
		}
		out = append(out, Msg{Tenant: tenant, Seq: meta.Sequence.Stream, Data: m.Data(), msg: m})
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		b.forget(tenant)
		return out, fmt.Errorf("fetch %s: %w", tenant, err)
	}
	return out, nil
}

// Backlog returns, per tenant with messages waiting, how many are waiting.
func (b *Bus) Backlog(ctx context.Context) (map[string]uint64, error) {
	subjects := map[string]uint64{}
	info, err := b.stream.Info(ctx, jetstream.WithSubjectFilter(b.prefix+"*"))
	if err != nil {
		return nil, fmt.Errorf("stream info: %w", err)
	}
	for subj, n := range info.State.Subjects {
		subjects[strings.TrimPrefix(subj, b.prefix)] = n
	}
	return subjects, nil
}

// Tenants returns the tenants that have messages waiting.
func (b *Bus) Tenants(ctx context.Context) ([]string, error) {
	bl, err := b.Backlog(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(bl))
	for t, n := range bl {
		if n > 0 {
			out = append(out, t)
		}
	}
	return out, nil
}

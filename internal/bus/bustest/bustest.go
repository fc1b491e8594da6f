// Package bustest is the conformance suite of the bus: the same behaviour
// on the embedded server and on an external NATS cluster.
package bustest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/bus"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Open opens a bus with opt over the backend under test. Reopening with the
// same opt must reach the same stored messages.
type Open func(t *testing.T, opt bus.Options) *bus.Bus

// Run runs the suite. opt carries what the backend needs (Dir or URL); each
// subtest uses its own stream name.
func Run(t *testing.T, base bus.Options, open Open) {
	n := 0
	fresh := func(t *testing.T) bus.Options {
		n++
		o := base
		o.Stream = fmt.Sprintf("T%d_%d", time.Now().UnixNano()%1e9, n)
		// Small streams, deleted afterwards: a server's JetStream storage
		// is reserved by each stream's limit.
		o.MaxBytes = 64 << 20
		t.Cleanup(func() {
			if b, err := bus.Open(context.Background(), o); err == nil {
				b.DeleteStream(context.Background())
				b.Close()
			}
		})
		return o
	}
	ctx := context.Background()

	t.Run("published messages are fetched per tenant, in order", func(t *testing.T) {
		b := open(t, fresh(t))
		for i := range 3 {
			mustPublish(t, b, "tenant-a", fmt.Sprintf("a%d", i), fmt.Sprintf("a-%d", i))
		}
		mustPublish(t, b, "tenant-b", "b0", "b-0")
		msgs := fetch(t, b, "tenant-a", 10)
		if len(msgs) != 3 {
			t.Fatalf("tenant-a got %d messages, want 3", len(msgs))
		}
		for i, m := range msgs {
			if got, want := string(m.Data), fmt.Sprintf("a-%d", i); got != want {
				t.Errorf("message %d = %q, want %q", i, got, want)
			}
			if m.Tenant != "tenant-a" {
				t.Errorf("message %d tenant = %q, want tenant-a", i, m.Tenant)
			}
		}
		if b := fetch(t, b, "tenant-b", 10); len(b) != 1 || string(b[0].Data) != "b-0" {
			t.Fatalf("tenant-b got %v, want its one message", b)
		}
	})

	t.Run("backlog counts waiting messages per tenant and ack removes them", func(t *testing.T) {
		b := open(t, fresh(t))
		mustPublish(t, b, "noisy", "n1", "x")
		mustPublish(t, b, "noisy", "n2", "x")
		mustPublish(t, b, "quiet", "q1", "x")
		bl, err := b.Backlog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if bl["noisy"] != 2 || bl["quiet"] != 1 {
			t.Fatalf("backlog = %v, want noisy 2, quiet 1", bl)
		}
		for _, m := range fetch(t, b, "noisy", 10) {
			if err := m.Ack(); err != nil {
				t.Fatal(err)
			}
		}
		bl, err = b.Backlog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if bl["noisy"] != 0 || bl["quiet"] != 1 {
			t.Fatalf("backlog after ack = %v, want noisy 0, quiet 1", bl)
		}
	})

	t.Run("a retried publish with the same id is stored once", func(t *testing.T) {
		b := open(t, fresh(t))
		mustPublish(t, b, "t1", "same-id", "payload")
		mustPublish(t, b, "t1", "same-id", "payload")
		if got := fetch(t, b, "t1", 10); len(got) != 1 {
			t.Fatalf("got %d messages, want 1", len(got))
		}
	})

	t.Run("unacknowledged messages survive a reopen and keep their sequence", func(t *testing.T) {
		o := fresh(t)
		b := open(t, o)
		mustPublish(t, b, "t1", "m1", "one")
		mustPublish(t, b, "t1", "m2", "two")
		first := fetch(t, b, "t1", 10)
		if len(first) != 2 {
			t.Fatalf("got %d messages, want 2", len(first))
		}
		if err := first[0].Ack(); err != nil {
			t.Fatal(err)
		}
		b.Close()
		b2 := open(t, o)
		// The unacknowledged message comes back: at once on the embedded
		// server, after the ack wait on a cluster.
		again := fetchUntil(t, b2, "t1", 1)
		if string(again[0].Data) != "two" || again[0].Seq != first[1].Seq {
			t.Fatalf("redelivered %q seq %d, want %q seq %d", again[0].Data, again[0].Seq, "two", first[1].Seq)
		}
	})

	t.Run("a full stream refuses with Unavailable and keeps what it holds", func(t *testing.T) {
		o := fresh(t)
		o.MaxBytes = 4096
		b := open(t, o)
		payload := make([]byte, 1000)
		var err error
		stored := 0
		for i := range 20 {
			if err = b.Publish(ctx, "t1", fmt.Sprintf("m%d", i), payload); err != nil {
				break
			}
			stored++
		}
		if err == nil {
			t.Fatal("20 KB went into a 4 KB stream without an error")
		}
		if tansa.KindOf(err) != tansa.Unavailable {
			t.Fatalf("error kind = %v (%v), want unavailable", tansa.KindOf(err), err)
		}
		if got := fetch(t, b, "t1", 100); len(got) != stored {
			t.Fatalf("fetched %d, want the %d stored before the refusal", len(got), stored)
		}
	})

	t.Run("a tenant id that cannot name a subject is refused", func(t *testing.T) {
		b := open(t, fresh(t))
		for _, bad := range []string{"", "a.b", "*", ">", "a b"} {
			if err := b.Publish(ctx, bad, "", []byte("x")); tansa.KindOf(err) != tansa.Invalid {
				t.Errorf("Publish(tenant %q) = %v, want an invalid error", bad, err)
			}
		}
	})
}

func mustPublish(t *testing.T, b *bus.Bus, tenant, id, data string) {
	t.Helper()
	if err := b.Publish(context.Background(), tenant, id, []byte(data)); err != nil {
		t.Fatalf("publish %s/%s: %v", tenant, id, err)
	}
}

func fetch(t *testing.T, b *bus.Bus, tenant string, max int) []bus.Msg {
	t.Helper()
	msgs, err := b.Fetch(context.Background(), tenant, max, 500*time.Millisecond)
	if err != nil {
		t.Fatalf("fetch %s: %v", tenant, err)
	}
	return msgs
}

// fetchUntil fetches until at least n messages arrived, for redeliveries
// whose timing the server decides; it gives up after 80 tries (40 s).
func fetchUntil(t *testing.T, b *bus.Bus, tenant string, n int) []bus.Msg {
	t.Helper()
	var got []bus.Msg
	for range 80 {
		got = append(got, fetch(t, b, tenant, n)...)
		if len(got) >= n {
			return got
		}
	}
	t.Fatalf("got %d messages after 80 fetches, want %d", len(got), n)
	return nil
}

package postgres_test

import (
	"os"
	"testing"

	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/events/eventstest"
	"github.com/tansa-sec/tansa/internal/store/postgres"
)

// openEvents opens an event store in a schema of its own, created for t
// and dropped when t ends.
func openEvents(t *testing.T) *postgres.Events {
	t.Helper()
	s, err := postgres.OpenEvents(t.Context(), freshSchema(t))
	if err != nil {
		t.Fatalf("OpenEvents: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestEventsConformance(t *testing.T) {
	if os.Getenv("TANSA_TEST_POSTGRES_URL") == "" {
		t.Skip("TANSA_TEST_POSTGRES_URL not set: PostgreSQL event store conformance skipped")
	}
	eventstest.Run(t, func(t *testing.T) events.Store { return openEvents(t) })
}

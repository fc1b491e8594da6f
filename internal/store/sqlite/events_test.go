package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/events/eventstest"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
)

func TestEventsConformance(t *testing.T) {
	eventstest.Run(t, func(t *testing.T) events.Store {
		s, err := sqlite.OpenEvents(t.Context(), filepath.Join(t.TempDir(), "events.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

package bus_test

import (
	"os"
	"testing"

	"github.com/tansa-sec/tansa/internal/bus"
	"github.com/tansa-sec/tansa/internal/bus/bustest"
)

func TestEmbedded(t *testing.T) {
	dir := t.TempDir()
	bustest.Run(t, bus.Options{Dir: dir}, open)
}

func TestExternal(t *testing.T) {
	url := os.Getenv("TANSA_TEST_NATS_URL")
	if url == "" {
		t.Skip("TANSA_TEST_NATS_URL not set: conformance against an external NATS server skipped")
	}
	bustest.Run(t, bus.Options{URL: url}, open)
}

func open(t *testing.T, opt bus.Options) *bus.Bus {
	t.Helper()
	b, err := bus.Open(t.Context(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

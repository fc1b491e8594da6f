package collect

import (
	"context"
	"testing"
	"time"
)

// TestThrottleDutyCycle drives the throttle with a fake clock: at 25 %,
// 100 ms of work must be followed by 300 ms of sleep.
func TestThrottleDutyCycle(t *testing.T) {
	clock := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	var slept []time.Duration
	th := newThrottle(25, func() time.Time { return clock }, func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		clock = clock.Add(d)
		return nil
	})
	ctx := context.Background()
	for range 10 {
		clock = clock.Add(10 * time.Millisecond) // one unit of work
		if err := th.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var total time.Duration
	for _, d := range slept {
		total += d
	}
	if total != 300*time.Millisecond {
		t.Errorf("slept %v in total (%v), want 300ms after 100ms of work at 25%%", total, slept)
	}
	full := newThrottle(100, func() time.Time { return clock }, func(context.Context, time.Duration) error {
		t.Error("a 100% throttle slept")
		return nil
	})
	clock = clock.Add(time.Hour)
	_ = full.Tick(ctx)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := th.Tick(cancelled); err == nil {
		t.Error("Tick ignored a cancelled context")
	}
}

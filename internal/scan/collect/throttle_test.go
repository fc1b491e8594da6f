package collect

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeProcess is a clock and a CPU-time counter the throttle reads
// instead of the real ones.
type fakeProcess struct {
	clock time.Time
	cpu   time.Duration
	slept []time.Duration
}

func (f *fakeProcess) throttle(percent int) *Throttle {
	return newThrottle(percent, func() time.Time { return f.clock },
		func() (time.Duration, error) { return f.cpu, nil },
		func(_ context.Context, d time.Duration) error {
			f.slept = append(f.slept, d)
			f.clock = f.clock.Add(d)
			return nil
		})
}

func (f *fakeProcess) total() time.Duration {
	var total time.Duration
	for _, d := range f.slept {
		total += d
	}
	return total
}

// TestThrottleDutyCycle: at 25 %, 100 ms of CPU work done in 100 ms must
// be followed by 300 ms of sleep.
func TestThrottleDutyCycle(t *testing.T) {
	f := &fakeProcess{clock: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	th := f.throttle(25)
	ctx := context.Background()
	for range 10 {
		f.clock = f.clock.Add(10 * time.Millisecond) // one unit of work
		f.cpu += 10 * time.Millisecond
		if err := th.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if f.total() != 300*time.Millisecond || th.Slept() != f.total() {
		t.Errorf("slept %v in total (%v, Slept %v), want 300ms after 100ms of work at 25%%", f.total(), f.slept, th.Slept())
	}
	full := (&fakeProcess{}).throttle(100)
	full.sleep = func(context.Context, time.Duration) error {
		t.Error("a 100% throttle slept")
		return nil
	}
	_ = full.Tick(ctx)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := th.Tick(cancelled); err == nil {
		t.Error("Tick ignored a cancelled context")
	}
}

// TestThrottleWaitingIsNotWork: a sweep that waits for the disk or for a
// CPU (400 ms of wall time for 100 ms of CPU) has already stayed under a
// 50 % cap and must not sleep at all; one that computes the whole time
// must sleep as long again.
func TestThrottleWaitingIsNotWork(t *testing.T) {
	ctx := context.Background()
	waiting := &fakeProcess{clock: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	th := waiting.throttle(50)
	for range 10 {
		waiting.clock = waiting.clock.Add(40 * time.Millisecond)
		waiting.cpu += 10 * time.Millisecond
		if err := th.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if waiting.total() != 0 {
		t.Errorf("a sweep using 25%% of a CPU slept %v under a 50%% cap", waiting.total())
	}
	busy := &fakeProcess{clock: waiting.clock}
	th = busy.throttle(50)
	for range 10 {
		busy.clock = busy.clock.Add(40 * time.Millisecond)
		busy.cpu += 40 * time.Millisecond
		if err := th.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if busy.total() != 400*time.Millisecond {
		t.Errorf("a sweep using a whole CPU slept %v (%v) under a 50%% cap, want 400ms", busy.total(), busy.slept)
	}
}

// TestThrottleWithoutCPUTime: when the process's CPU time cannot be read
// the throttle counts wall time as work, so the cap still holds.
func TestThrottleWithoutCPUTime(t *testing.T) {
	f := &fakeProcess{clock: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	th := f.throttle(50)
	th.cpu = func() (time.Duration, error) { return 0, errors.New("no rusage") }
	for range 10 {
		f.clock = f.clock.Add(10 * time.Millisecond)
		if err := th.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if f.total() != 100*time.Millisecond {
		t.Errorf("slept %v (%v), want 100ms after 100ms of wall time at 50%%", f.total(), f.slept)
	}
}

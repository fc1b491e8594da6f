package playbook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
)

// RunnerOptions tune the runner. Zero fields take the defaults in
// parentheses.
type RunnerOptions struct {
	Workers int           // runs processed at once (16)
	Lease   time.Duration // how long a node holds a run it works on (30s)
	Poll    time.Duration // how often due runs are looked for (1s)
	// SingleNode clears every lease at start: with one node (SQLite), any
	// lease left is the dead process's own, and waiting for it to expire
	// would only delay the resumption.
	SingleNode bool
	// OnStart is told how long each run waited from its creation to its
	// first step (the alert → playbook start latency).
	OnStart func(r Run, wait time.Duration)
	Now     func() time.Time
}

// Runner executes runs durably: it stores each step's record together
// with the run's new state before taking the next step, records a step
// with an outside effect as started before making the call, and on start
// picks up every run that was running or whose wait is over. It is safe
// for concurrent use.
type Runner struct {
	store Store
	acts  *actions
	log   *slog.Logger
	opt   RunnerOptions
	owner string

	queue    chan string
	mu       sync.Mutex
	inflight map[string]bool
	defs     sync.Map // "id@version" → *Definition
}

// NewRunner returns a runner over store whose actions reach deps.
func NewRunner(store Store, deps ActionDeps, log *slog.Logger, opt RunnerOptions) *Runner {
	if opt.Workers <= 0 {
		opt.Workers = 16
	}
	if opt.Lease <= 0 {
		opt.Lease = 30 * time.Second
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	deps.Store = store
	if deps.Log == nil {
		deps.Log = log
	}
	return &Runner{store: store, acts: newActions(deps), log: log, opt: opt, owner: "runner-" + uuid.NewString(),
		queue: make(chan string, 8192), inflight: map[string]bool{}}
}

// Kick asks for run id to be processed soon. It never blocks: when the
// queue is full, the next poll finds the run.
func (r *Runner) Kick(id string) {
	r.mu.Lock()
	if r.inflight[id] {
		r.mu.Unlock()
		return
	}
	r.inflight[id] = true
	r.mu.Unlock()
	select {
	case r.queue <- id:
	default:
		r.done(id)
	}
}

func (r *Runner) done(id string) {
	r.mu.Lock()
	delete(r.inflight, id)
	r.mu.Unlock()
}

// Run processes runs until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	if r.opt.SingleNode {
		if err := r.store.ReleaseAll(ctx); err != nil {
			return fmt.Errorf("playbook runner: %w", err)
		}
	}
	var wg sync.WaitGroup
	for range r.opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case id := <-r.queue:
					r.process(ctx, id)
					r.done(id)
				}
			}
		}()
	}
	t := time.NewTicker(r.opt.Poll)
	defer t.Stop()
	for {
		ids, err := r.store.DueRuns(ctx, r.opt.Now(), 2000)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("playbook runner: due runs", "err", err)
		}
		for _, id := range ids {
			r.Kick(id)
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
		}
	}
}

// definition returns a version of a playbook, parsed once.
func (r *Runner) definition(ctx context.Context, id string, version int) (*Definition, error) {
	key := fmt.Sprintf("%s@%d", id, version)
	if d, ok := r.defs.Load(key); ok {
		return d.(*Definition), nil
	}
	src, err := r.store.PlaybookSource(ctx, id, version)
	if err != nil {
		return nil, err
	}
	d, err := Parse([]byte(src))
	if err != nil {
		return nil, err
	}
	r.defs.Store(key, d)
	return d, nil
}

// process takes one run as far as it can go now.
func (r *Runner) process(ctx context.Context, id string) {
	now := r.opt.Now()
	leaseUntil := now.Add(r.opt.Lease)
	ok, err := r.store.ClaimRun(ctx, id, r.owner, leaseUntil, now)
	if err != nil || !ok {
		if err != nil && ctx.Err() == nil {
			r.log.Warn("playbook runner: claim", "run", id, "err", err)
		}
		return
	}
	defer func() {
		// A fresh context: the lease must go even when ctx ended.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = r.store.ReleaseRun(rctx, id, r.owner)
	}()
	run, err := r.store.Run(ctx, id)
	if err != nil || Terminal(run.Status) {
		return
	}
	if run.Status == StatusWaiting && now.Before(run.WakeAt) && !decided(run) {
		return
	}
	save := func(rec *StepRecord, u RunUpdate) error {
		u.Updated = r.opt.Now()
		return r.store.SaveStep(ctx, id, rec, u)
	}
	d, err := r.definition(ctx, run.PlaybookID, run.Version)
	if err != nil {
		_ = save(nil, RunUpdate{Status: StatusFailed, Cursor: run.Cursor, Error: "load playbook: " + err.Error(), CaseID: run.CaseID})
		return
	}
	var alert map[string]any
	if err := json.Unmarshal(run.Alert, &alert); err != nil || alert == nil {
		alert = map[string]any{}
	}
	rs := newRunState(d, run.ID, run.TenantID, alert, run.DryRun)
	rs.load(run.Steps)
	rs.cursor = run.Cursor
	if run.CaseID != "" {
		rs.kase["id"] = run.CaseID
	}
	if len(run.Steps) == 0 && r.opt.OnStart != nil {
		r.opt.OnStart(run, now.Sub(run.Created))
	}
	update := func(status, errText string, wake time.Time) RunUpdate {
		return RunUpdate{Status: status, Cursor: rs.cursor, WakeAt: wake, Error: errText, CaseID: Text(rs.kase["id"])}
	}
	ex := &runExec{a: r.acts, persist: func(rec *StepRecord) error { return save(rec, update(StatusRunning, "", time.Time{})) }}
	for ctx.Err() == nil {
		if r.opt.Now().After(leaseUntil.Add(-r.opt.Lease / 2)) {
			leaseUntil = r.opt.Now().Add(r.opt.Lease)
			if ok, err := r.store.ClaimRun(ctx, id, r.owner, leaseUntil, r.opt.Now()); err != nil || !ok {
				return
			}
		}
		o := advance(ctx, d, rs, ex, r.opt.Now())
		if ctx.Err() != nil {
			// Shutting down mid-step: the step stays as recorded (started
			// steps are reconciled on the next start).
			return
		}
		status := o.status
		if status == StatusRunning && rs.cursor >= len(d.Steps) {
			status = StatusSucceeded
		}
		if o.rec == nil && status == StatusWaiting {
			return // still waiting; nothing changed
		}
		if err := save(o.rec, update(status, o.err, o.wakeAt)); err != nil {
			r.log.Warn("playbook runner: save step", "run", id, "err", err)
			return
		}
		if status != StatusRunning {
			return
		}
	}
}

// decided reports whether a waiting run's approval was decided.
func decided(run Run) bool {
	for _, s := range run.Steps {
		if s.Status == StepWaiting && s.Decision != "" {
			return true
		}
	}
	return false
}

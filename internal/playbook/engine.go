package playbook

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Run statuses.
const (
	StatusRunning   = "running"   // a step is due
	StatusWaiting   = "waiting"   // for an approval or a wait step
	StatusSucceeded = "succeeded" // every step ran or was skipped
	StatusFailed    = "failed"    // a step failed
	StatusRejected  = "rejected"  // an approval gate said no (or timed out) and the run ended
)

// Terminal reports whether a run in status s has ended.
func Terminal(s string) bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusRejected
}

// Step record statuses.
const (
	StepStarted   = "started"   // recorded before an outside call; outcome unknown until it ends
	StepSucceeded = "succeeded" // done, output recorded
	StepFailed    = "failed"
	StepSkipped   = "skipped" // its condition was false
	StepWaiting   = "waiting" // an approval or a wait not yet over
)

// StepRecord is what happened at one step of a run: inputs, outputs, who
// decided, when. A step runs at most once per run (branches only jump
// forward), so the step ID identifies the record within its run.
type StepRecord struct {
	StepID   string          `json:"step_id"`
	Seq      int             `json:"seq"` // order of execution within the run
	Action   string          `json:"action"`
	Status   string          `json:"status"`
	Input    json.RawMessage `json:"input,omitempty"`
	Output   json.RawMessage `json:"output,omitempty"`
	Error    string          `json:"error,omitempty"`
	Attempts int             `json:"attempts"`
	// IdemKey is stored before an outside call and sent to the vendor
	// where its API takes one; on resume it finds the call's outcome.
	IdemKey  string    `json:"idempotency_key,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// WakeAt is when a waiting step is next looked at (an approval's
	// deadline, the end of a wait).
	WakeAt time.Time `json:"wake_at,omitzero"`
	// Approval gates: the decision, who took it and when.
	Decision  string    `json:"decision,omitempty"` // approve, reject, timeout
	DecidedBy string    `json:"decided_by,omitempty"`
	Decided   time.Time `json:"decided,omitzero"`
	Comment   string    `json:"comment,omitempty"`
	// Containment steps: when and by whom they were reverted.
	Reverted   time.Time `json:"reverted,omitzero"`
	RevertedBy string    `json:"reverted_by,omitempty"`
}

// runState is a run as the engine works on it.
type runState struct {
	id       string
	tenant   string
	playbook string
	dryRun   bool
	alert    map[string]any
	kase     map[string]any
	steps    map[string]any // step ID → output; every step present (empty until it runs)
	records  map[string]*StepRecord
	cursor   int
	seq      int
}

func newRunState(d *Definition, id, tenant string, alert map[string]any, dryRun bool) *runState {
	rs := &runState{id: id, tenant: tenant, playbook: d.Name, dryRun: dryRun, alert: alert,
		kase: map[string]any{}, steps: map[string]any{}, records: map[string]*StepRecord{}}
	for _, st := range d.Steps {
		rs.steps[st.ID] = map[string]any{}
	}
	return rs
}

// load restores recorded steps into rs.
func (rs *runState) load(recs []StepRecord) {
	for i := range recs {
		r := recs[i]
		rs.records[r.StepID] = &r
		if len(r.Output) > 0 {
			var out map[string]any
			if json.Unmarshal(r.Output, &out) == nil && out != nil {
				rs.steps[r.StepID] = out
			}
		}
		if r.Seq >= rs.seq {
			rs.seq = r.Seq + 1
		}
		if id, ok := rs.steps[r.StepID].(map[string]any)["case_id"].(string); ok && id != "" && (r.Action == ActCaseCreate || r.Action == ActCaseUpdate) {
			rs.kase["id"] = id
		}
	}
}

// executor performs the actions that are not control flow.
type executor interface {
	// do performs st with its rendered input. rec is the step's record,
	// already filled with the input and, for a step found started after a
	// restart, what was recorded before the call.
	do(ctx context.Context, rs *runState, st *Step, input map[string]any, rec *StepRecord) (map[string]any, error)
	// decision returns an approval's decision so far: "" while nobody
	// decided, else approve, reject or timeout, and who.
	decision(rs *runState, st *Step, rec *StepRecord) (decision, by string)
}

// outcome is what one call of advance did.
type outcome struct {
	rec    *StepRecord // the step record written or updated, nil when none
	status string      // the run's status afterwards
	err    string      // why the run failed
	wakeAt time.Time   // when a waiting run is next looked at
}

// advance takes the run one step further: it evaluates or performs the
// step at the cursor and moves the cursor. It never blocks on people or
// time: approvals and waits return StatusWaiting with a wake time.
func advance(ctx context.Context, d *Definition, rs *runState, ex executor, now time.Time) outcome {
	if rs.cursor >= len(d.Steps) {
		return outcome{status: StatusSucceeded}
	}
	st := d.Steps[rs.cursor]
	rec := rs.records[st.ID]
	fresh := rec == nil
	if fresh {
		rec = &StepRecord{StepID: st.ID, Seq: rs.seq, Action: st.Action, Started: now}
		rs.seq++
		rs.records[st.ID] = rec
	}
	env := runEnv(rs)
	finish := func(status string, out map[string]any) outcome {
		rec.Status, rec.Finished, rec.WakeAt = status, now, time.Time{}
		if out != nil {
			rec.Output = mustJSON(out)
			rs.steps[st.ID] = out
		}
		rs.cursor++
		return outcome{rec: rec, status: StatusRunning}
	}
	fail := func(err error) outcome {
		rec.Status, rec.Finished, rec.Error, rec.WakeAt = StepFailed, now, err.Error(), time.Time{}
		if st.OnError == "continue" {
			rs.cursor++
			return outcome{rec: rec, status: StatusRunning}
		}
		return outcome{rec: rec, status: StatusFailed, err: fmt.Sprintf("step %s: %v", st.ID, err)}
	}
	if fresh && st.cond != nil {
		ok, err := st.cond.holds(env)
		if err != nil {
			return fail(fmt.Errorf("if: %w", err))
		}
		if !ok {
			return finish(StepSkipped, nil)
		}
	}
	switch st.Action {
	case ActBranch:
		target := st.Default
		for i, p := range st.branch {
			ok, err := p.holds(env)
			if err != nil {
				return fail(fmt.Errorf("case %d: %w", i+1, err))
			}
			if ok {
				target = st.Cases[i].Goto
				break
			}
		}
		o := finish(StepSucceeded, map[string]any{"goto": target})
		switch target {
		case "":
		case End:
			rs.cursor = len(d.Steps)
		default:
			rs.cursor = d.index(target)
		}
		return o
	case ActWait:
		if rs.dryRun {
			return finish(StepSucceeded, map[string]any{"dry_run": true, "would": "wait " + st.Duration.String()})
		}
		if fresh {
			rec.Status, rec.WakeAt = StepWaiting, now.Add(st.Duration)
			rec.Output = mustJSON(map[string]any{"until": rec.WakeAt})
			return outcome{rec: rec, status: StatusWaiting, wakeAt: rec.WakeAt}
		}
		if now.Before(rec.WakeAt) {
			return outcome{status: StatusWaiting, wakeAt: rec.WakeAt}
		}
		return finish(StepSucceeded, map[string]any{"waited": st.Duration.String()})
	case ActApproval:
		if fresh {
			rec.Status, rec.WakeAt = StepWaiting, now.Add(st.Timeout)
			rec.Output = mustJSON(map[string]any{"roles": st.Approvers.Roles, "users": st.Approvers.Users, "deadline": rec.WakeAt})
		}
		decision, by := ex.decision(rs, st, rec)
		if decision == "" && !now.Before(rec.WakeAt) {
			decision, by = "timeout", "timeout"
		}
		if decision == "" {
			return outcome{rec: rec, status: StatusWaiting, wakeAt: rec.WakeAt}
		}
		approved := decision == "approve" || (decision == "timeout" && st.OnTimeout == "approve")
		rec.Decision, rec.DecidedBy = decision, by
		if rec.Decided.IsZero() {
			rec.Decided = now
		}
		out := map[string]any{"approved": approved, "decision": decision, "by": by, "at": rec.Decided}
		if !approved && st.OnReject == "end" {
			o := finish(StepSucceeded, out)
			o.status = StatusRejected
			return o
		}
		return finish(StepSucceeded, out)
	}
	var input map[string]any
	if len(rec.Input) > 0 && !fresh {
		// A step found started after a restart keeps the input recorded
		// before its call, so reconciling looks for the same call.
		if err := json.Unmarshal(rec.Input, &input); err != nil {
			return fail(fmt.Errorf("recorded input: %w", err))
		}
	} else {
		v, err := render(st.with, env)
		if err != nil {
			return fail(err)
		}
		input, _ = v.(map[string]any)
		rec.Input = mustJSON(input)
	}
	out, err := ex.do(ctx, rs, st, input, rec)
	if err != nil {
		return fail(err)
	}
	if id, ok := out["case_id"].(string); ok && id != "" {
		rs.kase["id"] = id
	}
	return finish(StepSucceeded, out)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	return b
}

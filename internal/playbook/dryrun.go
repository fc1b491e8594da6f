package playbook

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Matches reports whether the playbook's alert trigger fires for an alert
// (as AlertFacts shows it). A playbook without an alert condition never
// matches.
func (d *Definition) Matches(alert map[string]any) (bool, error) {
	if d.trigger == nil {
		return false, nil
	}
	return d.trigger.holds(triggerEnv(alert))
}

// Simulation is what a dry run over an alert found.
type Simulation struct {
	Triggered bool     `json:"triggered"`
	Steps     []string `json:"steps"`  // the steps that ran, in order (skipped ones left out)
	Status    string   `json:"status"` // the run's final status
	Error     string   `json:"error,omitempty"`
	// Records are the step records the run would leave, with the inputs
	// each action would have been given.
	Records []StepRecord `json:"records"`
}

// simulator answers steps from given outputs and approvals from given
// decisions; it never leaves the process.
type simulator struct {
	outputs   map[string]map[string]any
	decisions map[string]string
}

func (s simulator) do(_ context.Context, _ *runState, st *Step, input map[string]any, _ *StepRecord) (map[string]any, error) {
	if out, ok := s.outputs[st.ID]; ok {
		return out, nil
	}
	return map[string]any{"dry_run": true, "would": Describe(st.Action, input)}, nil
}

func (s simulator) decision(_ *runState, st *Step, _ *StepRecord) (string, string) {
	d, ok := s.decisions[st.ID]
	if !ok {
		d = "approve"
	}
	return d, "test"
}

// Simulate runs the playbook over alert without any outside effect:
// actions answer from outputs (by step ID), approvals from decisions
// ("approve" when not given; "timeout" jumps past the deadline).
func (d *Definition) Simulate(ctx context.Context, alert map[string]any, manual bool, outputs map[string]map[string]any, decisions map[string]string) Simulation {
	var sim Simulation
	if manual {
		sim.Triggered = d.Trigger.Manual
	} else {
		ok, err := d.Matches(alert)
		if err != nil {
			sim.Error = "trigger: " + err.Error()
			return sim
		}
		sim.Triggered = ok
	}
	sim.Steps = []string{}
	if !sim.Triggered {
		return sim
	}
	rs := newRunState(d, "dry-run", Text(alert["tenant"]), alert, true)
	ex := simulator{outputs: outputs, decisions: decisions}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
loop:
	for range 10 * (len(d.Steps) + 1) {
		o := advance(ctx, d, rs, ex, now)
		if o.rec != nil && o.status != StatusWaiting && o.rec.Status != StepSkipped && !slices.Contains(sim.Steps, o.rec.StepID) {
			sim.Steps = append(sim.Steps, o.rec.StepID)
		}
		switch o.status {
		case StatusWaiting:
			// Time passes in a simulation: jump to the wake-up.
			now = o.wakeAt
			continue
		case StatusRunning:
			continue
		}
		sim.Status, sim.Error = o.status, o.err
		break loop
	}
	recs := make([]StepRecord, 0, len(rs.records))
	for _, r := range rs.records {
		recs = append(recs, *r)
	}
	slices.SortFunc(recs, func(a, b StepRecord) int { return a.Seq - b.Seq })
	sim.Records = recs
	return sim
}

// TestResult is the outcome of one of a playbook's test cases.
type TestResult struct {
	Name   string     `json:"name"`
	Line   int        `json:"line"`
	Passed bool       `json:"passed"`
	Got    Simulation `json:"got"`
	// Failures say what differed from the test's want.
	Failures []string `json:"failures,omitempty"`
}

// RunTests runs every test case of the playbook.
func (d *Definition) RunTests(ctx context.Context) []TestResult {
	out := make([]TestResult, 0, len(d.Tests))
	for _, tc := range d.Tests {
		out = append(out, d.runTest(ctx, tc))
	}
	return out
}

func (d *Definition) runTest(ctx context.Context, tc *TestCase) TestResult {
	res := TestResult{Name: tc.Name, Line: tc.Line}
	alert := map[string]any{}
	if tc.Alert != nil {
		facts, _, err := AlertFromMap(tc.Alert)
		if err != nil {
			res.Failures = append(res.Failures, err.Error())
			return res
		}
		alert = facts
	}
	res.Got = d.Simulate(ctx, alert, tc.Manual, tc.Outputs, tc.Decisions)
	if res.Got.Error != "" && tc.Status != StatusFailed {
		res.Failures = append(res.Failures, "the run failed: "+res.Got.Error)
	}
	if tc.Triggered != nil && *tc.Triggered != res.Got.Triggered {
		res.Failures = append(res.Failures, fmt.Sprintf("triggered %v, want %v", res.Got.Triggered, *tc.Triggered))
	}
	if tc.Steps != nil && !slices.Equal(tc.Steps, res.Got.Steps) {
		res.Failures = append(res.Failures, fmt.Sprintf("steps [%s], want [%s]", strings.Join(res.Got.Steps, ", "), strings.Join(tc.Steps, ", ")))
	}
	if tc.Status != "" && tc.Status != res.Got.Status {
		res.Failures = append(res.Failures, fmt.Sprintf("status %q, want %q", res.Got.Status, tc.Status))
	}
	res.Passed = len(res.Failures) == 0
	return res
}

// Describe says in words what an action would do with input, for dry
// runs and the run page.
func Describe(action string, input map[string]any) string {
	v := func(k string) string { return Text(input[k]) }
	switch action {
	case ActBlock:
		return "add " + v("values") + " to the tenant's block list"
	case ActUnblock:
		return "remove " + v("values") + " from the tenant's block list"
	case ActIsolate:
		return "isolate host " + v("host") + " through " + v("connector")
	case ActRelease:
		return "release host " + v("host") + " through " + v("connector")
	case ActNotify:
		return "notify through " + v("connector") + ": " + v("subject")
	case ActWebhook:
		return "call webhook " + v("connector")
	case ActCaseCreate:
		return "open a case: " + v("title")
	case ActCaseUpdate:
		return "update the run's case"
	case ActEnrichIntel:
		return "look up " + v("values") + " in threat intelligence"
	case ActEnrichAsset:
		return "look up host " + v("host") + " in the events"
	case ActEnrichPrevalence:
		return "count how often " + v("values") + " occurs in the tenant's events"
	case ActEnrichSightings:
		return "list the hosts and users whose events mention " + v("values")
	}
	return action
}

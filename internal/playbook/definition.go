package playbook

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// MaxSource is the largest playbook document Parse accepts.
const MaxSource = 256 << 10

// Definition is one version of a playbook as its author wrote it: when it
// starts, the steps it takes, and the test cases that pin its behaviour.
// A Definition returned by Parse is valid and its expressions compiled; it
// is immutable and safe for concurrent use.
type Definition struct {
	Name        string
	Description string
	Trigger     Trigger
	Steps       []*Step
	Tests       []*TestCase

	trigger *program // compiled Trigger.Alert, nil when empty
}

// Trigger says when a playbook starts by itself.
type Trigger struct {
	// Alert is an expr-lang condition over a new alert (rule, level, tags,
	// tenant, observables…); empty means alerts never start the playbook.
	Alert string
	// Manual allows people to start the playbook from a case or an alert.
	Manual bool
	Line   int
}

// The actions a step may take.
const (
	ActEnrichIntel      = "enrich.intel"      // indicators matching observables
	ActEnrichAsset      = "enrich.asset"      // what the events say about a host
	ActEnrichPrevalence = "enrich.prevalence" // how common an observable is in the tenant
	ActEnrichSightings  = "enrich.sightings"  // which hosts and users saw an observable
	ActCaseCreate       = "case.create"
	ActCaseUpdate       = "case.update"
	ActNotify           = "notify"   // mail, Slack or Teams through a connector
	ActApproval         = "approval" // a person decides
	ActBlock            = "block"    // add values to the tenant's block list
	ActUnblock          = "unblock"
	ActIsolate          = "edr.isolate"
	ActRelease          = "edr.release"
	ActWebhook          = "webhook"
	ActWait             = "wait"
	ActBranch           = "branch"
)

// Actions lists every action, in the order the documentation shows them.
var Actions = []string{ActEnrichIntel, ActEnrichAsset, ActEnrichPrevalence, ActEnrichSightings,
	ActCaseCreate, ActCaseUpdate, ActNotify, ActApproval, ActBlock, ActUnblock, ActIsolate, ActRelease,
	ActWebhook, ActWait, ActBranch}

// Effectful reports whether action changes something outside Tansa's run
// records, so that it must run exactly once and is skipped in dry runs.
func Effectful(action string) bool {
	switch action {
	case ActCaseCreate, ActCaseUpdate, ActNotify, ActBlock, ActUnblock, ActIsolate, ActRelease, ActWebhook:
		return true
	}
	return false
}

// Containment reports whether action is a containment that can be reverted
// from the run (unblock, release).
func Containment(action string) bool { return action == ActBlock || action == ActIsolate }

// Step is one step of a playbook.
type Step struct {
	ID     string
	Name   string
	Action string
	// If is a condition over the run (alert, steps, case…); a step whose
	// condition is false is skipped.
	If string
	// With holds the action's inputs; strings may hold {{ expr }}
	// templates, and a string that is exactly one template keeps the
	// expression's type (a list, a number).
	With map[string]any
	// Approval gates only.
	Approvers Approvers
	Timeout   time.Duration
	OnTimeout string // "reject" (default) or "approve"
	OnReject  string // "end" (default) or "continue"
	// Wait steps only.
	Duration time.Duration
	// Branch steps only: the first case whose condition holds names the
	// next step; otherwise Default does (empty: the following step).
	Cases   []BranchCase
	Default string
	// Retries is how many more times a transient failure is tried.
	Retries int
	// OnError is "fail" (default: the run fails) or "continue".
	OnError string
	Line    int

	cond   *program
	with   map[string]any // With with templates compiled
	branch []*program
}

// Approvers says who may decide an approval gate: anyone holding one of
// Roles, or one of Users (usernames), within the run's tenant.
type Approvers struct {
	Roles []string
	Users []string
}

// BranchCase is one arm of a branch step.
type BranchCase struct {
	If   string
	Goto string
	Line int
}

// End is the Goto target that ends a run.
const End = "end"

// TestCase is a dry run over a given alert that asserts what would happen.
type TestCase struct {
	Name string
	// Alert is the alert the test feeds the trigger and the steps.
	Alert map[string]any
	// Manual starts the run by hand instead of through the trigger.
	Manual bool
	// Outputs stand in for the outputs of steps, by step ID (enrichment
	// results the branches look at).
	Outputs map[string]map[string]any
	// Decisions answer approval gates by step ID: "approve" (default),
	// "reject" or "timeout".
	Decisions map[string]string
	// Want: whether the trigger fires, and the steps that run, in order.
	Triggered *bool
	Steps     []string
	// Status is the run's final status when set ("succeeded", "rejected").
	Status string
	Line   int
}

// Problem is one thing wrong with a playbook document, at a line.
type Problem struct {
	Line    int    `json:"line"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.Message
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Message)
}

// Problems is every problem Parse found; it is the error Parse returns, of
// kind tansa.Invalid through Err.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "; ")
}

// Err wraps ps as an invalid-input error (tansa.Invalid) whose message
// names the lines; ProblemsOf gets ps back.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return invalidError{ps}
}

type invalidError struct{ ps Problems }

func (e invalidError) Error() string { return "playbook: " + e.ps.Error() }

func (e invalidError) Unwrap() error {
	return &tansa.Error{Kind: tansa.Invalid, Message: e.Error()}
}

// ProblemsOf returns the problems carried by err, if it came from Parse.
func ProblemsOf(err error) Problems {
	var e invalidError
	if errors.As(err, &e) {
		return e.ps
	}
	return nil
}

var idRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// parser collects problems while walking the YAML tree.
type parser struct {
	probs Problems
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	p.probs = append(p.probs, Problem{Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

// fields returns a mapping's keys and values, reporting keys outside
// known and duplicates.
func (p *parser) fields(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.errf(n, "%s must be a mapping", what)
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(known, k.Value) {
			p.errf(k, "%s: unknown field %q (known: %s)", what, k.Value, strings.Join(known, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.errf(k, "%s: %q given twice", what, k.Value)
			continue
		}
		out[k.Value] = v
	}
	return out
}

func (p *parser) str(n *yaml.Node, what string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.errf(n, "%s must be a string", what)
		return ""
	}
	return n.Value
}

func (p *parser) boolean(n *yaml.Node, what string) bool {
	if n == nil {
		return false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		p.errf(n, "%s must be true or false", what)
	}
	return b
}

func (p *parser) integer(n *yaml.Node, what string, lo, hi int) int {
	if n == nil {
		return 0
	}
	var v int
	if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil || v < lo || v > hi {
		p.errf(n, "%s must be a whole number from %d to %d", what, lo, hi)
	}
	return v
}

func (p *parser) duration(n *yaml.Node, what string, max time.Duration) time.Duration {
	if n == nil {
		return 0
	}
	d, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || d <= 0 || d > max {
		p.errf(n, "%s must be a duration such as 30s, 15m or 4h, at most %s", what, max)
		return 0
	}
	return d
}

func (p *parser) strings(n *yaml.Node, what string) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		p.errf(n, "%s must be a list of strings", what)
		return nil
	}
	var out []string
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			p.errf(c, "%s must be a list of strings", what)
			continue
		}
		out = append(out, c.Value)
	}
	return out
}

// anyValue decodes a node into plain Go values (maps with string keys).
func (p *parser) anyValue(n *yaml.Node, what string) any {
	var v any
	if err := n.Decode(&v); err != nil {
		p.errf(n, "%s: %v", what, err)
		return nil
	}
	return plain(v)
}

// plain turns YAML's map[any]any, should any appear, into map[string]any.
func plain(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = plain(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = plain(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = plain(e)
		}
		return x
	}
	return v
}

// Parse reads and validates a playbook document. Every problem found is
// reported, each with its line, as Problems (kind tansa.Invalid).
func Parse(src []byte) (*Definition, error) {
	if len(src) > MaxSource {
		return nil, Problems{{Message: fmt.Sprintf("the document is %d bytes; at most %d are accepted", len(src), MaxSource)}}.Err()
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		return nil, Problems{yamlProblem(err)}.Err()
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Problems{{Line: extra.Line, Message: "only one YAML document is allowed"}}.Err()
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, Problems{{Line: 1, Message: "the document is empty"}}.Err()
	}
	p := &parser{}
	d := p.definition(doc.Content[0])
	if len(p.probs) > 0 {
		slices.SortStableFunc(p.probs, func(a, b Problem) int { return a.Line - b.Line })
		return nil, p.probs.Err()
	}
	return d, nil
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func yamlProblem(err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	pr := Problem{Message: "not valid YAML: " + msg}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &pr.Line)
	}
	return pr
}

func (p *parser) definition(n *yaml.Node) *Definition {
	f := p.fields(n, "playbook", "name", "description", "trigger", "steps", "tests")
	d := &Definition{Name: strings.TrimSpace(p.str(f["name"], "name")), Description: p.str(f["description"], "description")}
	if d.Name == "" {
		p.errf(n, "name is required")
	} else if len(d.Name) > 200 {
		p.errf(f["name"], "name is longer than 200 characters")
	}
	if t := f["trigger"]; t != nil {
		tf := p.fields(t, "trigger", "alert", "manual")
		d.Trigger = Trigger{Alert: p.str(tf["alert"], "trigger.alert"), Manual: p.boolean(tf["manual"], "trigger.manual"), Line: t.Line}
		if d.Trigger.Alert != "" {
			prog, err := compileCondition(d.Trigger.Alert, triggerEnv(nil))
			if err != nil {
				p.errf(tf["alert"], "trigger.alert: %v", err)
			}
			d.trigger = prog
		}
		if d.Trigger.Alert == "" && !d.Trigger.Manual {
			p.errf(t, "trigger: give an alert condition, manual: true, or both")
		}
	} else {
		p.errf(n, "trigger is required")
	}
	steps := f["steps"]
	if steps == nil || steps.Kind != yaml.SequenceNode || len(steps.Content) == 0 {
		p.errf(orNode(steps, n), "steps must be a non-empty list")
	} else {
		ids := map[string]int{}
		for i, sn := range steps.Content {
			st := p.step(sn, i)
			if st == nil {
				continue
			}
			if prev, dup := ids[st.ID]; dup {
				p.errf(sn, "step id %q is already used by step %d", st.ID, prev+1)
			}
			ids[st.ID] = i
			d.Steps = append(d.Steps, st)
		}
		p.checkGotos(d, ids)
	}
	if tn := f["tests"]; tn != nil {
		if tn.Kind != yaml.SequenceNode {
			p.errf(tn, "tests must be a list")
		} else {
			for _, c := range tn.Content {
				if tc := p.test(c, d); tc != nil {
					d.Tests = append(d.Tests, tc)
				}
			}
		}
	}
	return d
}

func orNode(a, b *yaml.Node) *yaml.Node {
	if a != nil {
		return a
	}
	return b
}

var stepFields = []string{"id", "name", "action", "if", "with", "approvers", "timeout", "on_timeout", "on_reject",
	"duration", "cases", "default", "retries", "on_error"}

func (p *parser) step(n *yaml.Node, i int) *Step {
	what := fmt.Sprintf("step %d", i+1)
	f := p.fields(n, what, stepFields...)
	st := &Step{ID: p.str(f["id"], what+".id"), Name: p.str(f["name"], what+".name"), Action: p.str(f["action"], what+".action"),
		If: p.str(f["if"], what+".if"), Line: n.Line}
	if st.ID == "" {
		p.errf(n, "%s: id is required", what)
		return nil
	}
	what = fmt.Sprintf("step %q", st.ID)
	if !idRE.MatchString(st.ID) || st.ID == End {
		p.errf(f["id"], "%s: an id is lower-case letters, digits and _ starting with a letter, and not %q", what, End)
	}
	if !slices.Contains(Actions, st.Action) {
		p.errf(orNode(f["action"], n), "%s: action %q is not one of %s", what, st.Action, strings.Join(Actions, ", "))
		return st
	}
	if st.If != "" {
		prog, err := compileCondition(st.If, runEnv(nil))
		if err != nil {
			p.errf(f["if"], "%s.if: %v", what, err)
		}
		st.cond = prog
	}
	st.with = map[string]any{}
	if w := f["with"]; w != nil {
		if w.Kind != yaml.MappingNode {
			p.errf(w, "%s.with must be a mapping", what)
		} else {
			v, _ := p.anyValue(w, what+".with").(map[string]any)
			st.With = v
			for k, e := range v {
				c, err := compileTemplates(e)
				if err != nil {
					p.errf(w, "%s.with.%s: %v", what, k, err)
				}
				st.with[k] = c
			}
		}
	}
	st.Retries = p.integer(f["retries"], what+".retries", 0, 10)
	st.OnError = p.str(f["on_error"], what+".on_error")
	if st.OnError != "" && st.OnError != "fail" && st.OnError != "continue" {
		p.errf(f["on_error"], "%s.on_error must be fail or continue", what)
	}
	// Fields that belong to other actions are mistakes worth naming.
	only := func(field string, actions ...string) {
		if f[field] != nil && !slices.Contains(actions, st.Action) {
			p.errf(f[field], "%s: %s applies to %s steps only", what, field, strings.Join(actions, " and "))
		}
	}
	only("approvers", ActApproval)
	only("timeout", ActApproval)
	only("on_timeout", ActApproval)
	only("on_reject", ActApproval)
	only("duration", ActWait)
	only("cases", ActBranch)
	only("default", ActBranch)
	switch st.Action {
	case ActApproval:
		if a := f["approvers"]; a != nil {
			af := p.fields(a, what+".approvers", "roles", "users")
			st.Approvers = Approvers{Roles: p.strings(af["roles"], what+".approvers.roles"), Users: p.strings(af["users"], what+".approvers.users")}
			for _, r := range st.Approvers.Roles {
				if !tansa.Role(r).Valid() || tansa.Role(r) == tansa.RoleIngest {
					p.errf(af["roles"], "%s.approvers.roles: %q is not a role that can log in", what, r)
				}
			}
		}
		if len(st.Approvers.Roles)+len(st.Approvers.Users) == 0 {
			p.errf(n, "%s: an approval needs approvers (roles, users or both)", what)
		}
		st.Timeout = p.duration(f["timeout"], what+".timeout", 30*24*time.Hour)
		if st.Timeout == 0 && f["timeout"] == nil {
			p.errf(n, "%s: an approval needs a timeout", what)
		}
		st.OnTimeout = p.str(f["on_timeout"], what+".on_timeout")
		if st.OnTimeout == "" {
			st.OnTimeout = "reject"
		}
		if st.OnTimeout != "reject" && st.OnTimeout != "approve" {
			p.errf(f["on_timeout"], "%s.on_timeout must be reject or approve", what)
		}
		st.OnReject = p.str(f["on_reject"], what+".on_reject")
		if st.OnReject == "" {
			st.OnReject = "end"
		}
		if st.OnReject != "end" && st.OnReject != "continue" {
			p.errf(f["on_reject"], "%s.on_reject must be end or continue", what)
		}
	case ActWait:
		st.Duration = p.duration(f["duration"], what+".duration", 30*24*time.Hour)
		if f["duration"] == nil {
			p.errf(n, "%s: a wait needs a duration", what)
		}
	case ActBranch:
		cs := f["cases"]
		if cs == nil || cs.Kind != yaml.SequenceNode || len(cs.Content) == 0 {
			p.errf(orNode(cs, n), "%s: a branch needs cases, a list of {if, goto}", what)
		} else {
			for j, c := range cs.Content {
				cf := p.fields(c, fmt.Sprintf("%s.cases[%d]", what, j), "if", "goto")
				bc := BranchCase{If: p.str(cf["if"], "if"), Goto: p.str(cf["goto"], "goto"), Line: c.Line}
				if bc.If == "" || bc.Goto == "" {
					p.errf(c, "%s.cases[%d]: if and goto are both required", what, j)
				}
				prog, err := compileCondition(bc.If, runEnv(nil))
				if err != nil && bc.If != "" {
					p.errf(cf["if"], "%s.cases[%d].if: %v", what, j, err)
				}
				st.Cases = append(st.Cases, bc)
				st.branch = append(st.branch, prog)
			}
		}
		st.Default = p.str(f["default"], what+".default")
	}
	p.checkInputs(st, f["with"], n)
	return st
}

// checkInputs names the inputs each action requires.
func (p *parser) checkInputs(st *Step, with, n *yaml.Node) {
	need := func(keys ...string) {
		for _, k := range keys {
			if _, ok := st.With[k]; !ok {
				p.errf(orNode(with, n), "step %q: %s needs with.%s", st.ID, st.Action, k)
			}
		}
	}
	oneOf := func(keys ...string) {
		for _, k := range keys {
			if _, ok := st.With[k]; ok {
				return
			}
		}
		p.errf(orNode(with, n), "step %q: %s needs one of with.%s", st.ID, st.Action, strings.Join(keys, ", with."))
	}
	switch st.Action {
	case ActEnrichIntel, ActEnrichPrevalence, ActEnrichSightings:
		need("values")
	case ActEnrichAsset:
		need("host")
	case ActBlock, ActUnblock:
		need("values")
		if v, ok := st.With["type"].(string); ok && !strings.Contains(v, "{{") && v != "ip" && v != "domain" && v != "url" && v != "auto" {
			p.errf(with, "step %q: with.type must be ip, domain, url or auto", st.ID)
		}
	case ActIsolate, ActRelease:
		need("connector", "host")
	case ActNotify:
		need("connector")
		oneOf("subject", "body", "template")
	case ActWebhook:
		need("connector")
	case ActCaseCreate:
		need("title")
	case ActCaseUpdate:
		oneOf("case", "status", "note", "severity")
	}
}

// checkGotos makes branches jump forward only, so every run ends.
func (p *parser) checkGotos(d *Definition, ids map[string]int) {
	for i, st := range d.Steps {
		targets := []struct {
			id   string
			line int
		}{}
		for _, c := range st.Cases {
			targets = append(targets, struct {
				id   string
				line int
			}{c.Goto, c.Line})
		}
		if st.Default != "" {
			targets = append(targets, struct {
				id   string
				line int
			}{st.Default, st.Line})
		}
		for _, t := range targets {
			if t.id == End || t.id == "" {
				continue
			}
			j, ok := ids[t.id]
			switch {
			case !ok:
				p.probs = append(p.probs, Problem{Line: t.line, Message: fmt.Sprintf("step %q: goto %q names no step (or %q)", st.ID, t.id, End)})
			case j <= i:
				p.probs = append(p.probs, Problem{Line: t.line, Message: fmt.Sprintf("step %q: goto %q jumps backwards; branches go forward so that every run ends", st.ID, t.id)})
			}
		}
	}
}

func (p *parser) test(n *yaml.Node, d *Definition) *TestCase {
	f := p.fields(n, "test", "name", "alert", "manual", "outputs", "decisions", "want")
	tc := &TestCase{Name: p.str(f["name"], "test name"), Manual: p.boolean(f["manual"], "test manual"), Line: n.Line}
	if tc.Name == "" {
		p.errf(n, "a test needs a name")
	}
	what := fmt.Sprintf("test %q", tc.Name)
	if a := f["alert"]; a != nil {
		tc.Alert, _ = p.anyValue(a, what+".alert").(map[string]any)
		if tc.Alert == nil {
			p.errf(a, "%s.alert must be a mapping", what)
		}
	} else if !tc.Manual {
		p.errf(n, "%s needs an alert (or manual: true)", what)
	}
	stepIDs := map[string]bool{}
	for _, st := range d.Steps {
		stepIDs[st.ID] = true
	}
	if o := f["outputs"]; o != nil {
		m, _ := p.anyValue(o, what+".outputs").(map[string]any)
		tc.Outputs = map[string]map[string]any{}
		for k, v := range m {
			if !stepIDs[k] {
				p.errf(o, "%s.outputs: %q names no step", what, k)
			}
			mv, ok := v.(map[string]any)
			if !ok {
				p.errf(o, "%s.outputs.%s must be a mapping", what, k)
			}
			tc.Outputs[k] = mv
		}
	}
	if dn := f["decisions"]; dn != nil {
		m, _ := p.anyValue(dn, what+".decisions").(map[string]any)
		tc.Decisions = map[string]string{}
		for k, v := range m {
			s, _ := v.(string)
			if !stepIDs[k] {
				p.errf(dn, "%s.decisions: %q names no step", what, k)
			}
			if s != "approve" && s != "reject" && s != "timeout" {
				p.errf(dn, "%s.decisions.%s must be approve, reject or timeout", what, k)
			}
			tc.Decisions[k] = s
		}
	}
	w := f["want"]
	if w == nil {
		p.errf(n, "%s needs want (triggered, steps, status)", what)
		return tc
	}
	wf := p.fields(w, what+".want", "triggered", "steps", "status")
	if wf["triggered"] != nil {
		b := p.boolean(wf["triggered"], what+".want.triggered")
		tc.Triggered = &b
	}
	if wf["steps"] != nil {
		tc.Steps = p.strings(wf["steps"], what+".want.steps")
		if tc.Steps == nil {
			tc.Steps = []string{}
		}
		for _, s := range tc.Steps {
			if !stepIDs[s] {
				p.errf(wf["steps"], "%s.want.steps: %q names no step", what, s)
			}
		}
	}
	tc.Status = p.str(wf["status"], what+".want.status")
	if tc.Status != "" && !slices.Contains([]string{StatusSucceeded, StatusFailed, StatusRejected}, tc.Status) {
		p.errf(wf["status"], "%s.want.status must be succeeded, failed or rejected", what)
	}
	return tc
}

// Step returns the step with id, or nil.
func (d *Definition) Step(id string) *Step {
	for _, st := range d.Steps {
		if st.ID == id {
			return st
		}
	}
	return nil
}

func (d *Definition) index(id string) int {
	for i, st := range d.Steps {
		if st.ID == id {
			return i
		}
	}
	return -1
}

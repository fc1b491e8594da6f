package playbook

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// program is one compiled expression.
type program struct {
	src string
	p   *vm.Program
}

// Conditions and templates are type-checked against these shapes, so a
// misspelt variable (levle, tgas) is a validation error with its line, not
// a run that silently never matches.
func triggerEnv(alert map[string]any) map[string]any {
	if alert == nil {
		alert = AlertFacts(tansa.Alert{})
	}
	env := map[string]any{"alert": alert}
	for k, v := range alert {
		env[k] = v
	}
	return env
}

func runEnv(r *runState) map[string]any {
	if r == nil {
		r = &runState{alert: AlertFacts(tansa.Alert{}), steps: map[string]any{}, kase: map[string]any{}}
	}
	env := triggerEnv(r.alert)
	env["steps"] = r.steps
	env["case"] = r.kase
	env["run"] = map[string]any{"id": r.id, "dry_run": r.dryRun, "playbook": r.playbook}
	env["tenant"] = r.tenant
	return env
}

func compileCondition(src string, env map[string]any) (*program, error) {
	p, err := expr.Compile(src, expr.Env(env), expr.AsBool())
	if err != nil {
		return nil, cleanExprErr(err)
	}
	return &program{src: src, p: p}, nil
}

func cleanExprErr(err error) error {
	// expr's messages carry a caret diagram over several lines; the first
	// line says what is wrong.
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return fmt.Errorf("%s", msg)
}

func (p *program) eval(env map[string]any) (any, error) {
	v, err := expr.Run(p.p, env)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", p.src, cleanExprErr(err))
	}
	return v, nil
}

func (p *program) holds(env map[string]any) (bool, error) {
	v, err := p.eval(env)
	if err != nil {
		return false, err
	}
	b, _ := v.(bool)
	return b, nil
}

// template is a string with {{ expr }} parts, or a value holding such
// strings.
type template struct {
	parts []tplPart
}

type tplPart struct {
	text string
	prog *program
}

// compileTemplates compiles every template in v (strings, lists, maps).
func compileTemplates(v any) (any, error) {
	switch x := v.(type) {
	case string:
		if !strings.Contains(x, "{{") {
			return x, nil
		}
		return compileTemplate(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := compileTemplates(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := compileTemplates(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = c
		}
		return out, nil
	}
	return v, nil
}

func compileTemplate(s string) (*template, error) {
	t := &template{}
	for s != "" {
		i := strings.Index(s, "{{")
		if i < 0 {
			t.parts = append(t.parts, tplPart{text: s})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tplPart{text: s[:i]})
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("%q: {{ without }}", s)
		}
		src := strings.TrimSpace(s[i+2 : i+j])
		p, err := expr.Compile(src, expr.Env(runEnv(nil)))
		if err != nil {
			return nil, fmt.Errorf("{{ %s }}: %w", src, cleanExprErr(err))
		}
		t.parts = append(t.parts, tplPart{prog: &program{src: src, p: p}})
		s = s[i+j+2:]
	}
	return t, nil
}

// render evaluates every template in v against env.
func render(v any, env map[string]any) (any, error) {
	switch x := v.(type) {
	case *template:
		if len(x.parts) == 1 && x.parts[0].prog != nil {
			return x.parts[0].prog.eval(env)
		}
		var b strings.Builder
		for _, p := range x.parts {
			if p.prog == nil {
				b.WriteString(p.text)
				continue
			}
			v, err := p.prog.eval(env)
			if err != nil {
				return nil, err
			}
			b.WriteString(Text(v))
		}
		return b.String(), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := render(e, env)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := render(e, env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// Text renders a template value as text: lists joined with ", ", maps as
// JSON, nothing for nil.
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []string:
		return strings.Join(x, ", ")
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = Text(e)
		}
		return strings.Join(s, ", ")
	case map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

// Strings reads an input that may be one string or a list of them,
// dropping empty values and duplicates.
func Strings(v any) []string {
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	switch x := v.(type) {
	case string:
		add(x)
	case []string:
		for _, s := range x {
			add(s)
		}
	case []any:
		for _, e := range x {
			for _, s := range Strings(e) {
				add(s)
			}
		}
	case nil:
	default:
		add(fmt.Sprint(x))
	}
	return out
}

// AlertFacts is what conditions and templates see of an alert: rule,
// level, tags, tenant, observables by type and the rest of the alert.
func AlertFacts(a tansa.Alert) map[string]any {
	var ctx map[string]any
	if len(a.Context) > 0 {
		_ = json.Unmarshal(a.Context, &ctx)
	}
	if ctx == nil {
		ctx = map[string]any{}
	}
	tags := a.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"id": a.ID, "kind": string(a.Kind), "rule": a.RuleTitle, "rule_id": a.RuleID, "title": a.RuleTitle,
		"level": a.Level, "level_rank": tansa.LevelRank(a.Level), "tags": tags, "host": a.Host, "user": a.User,
		"tenant": a.TenantID, "count": a.Count, "group_key": a.GroupKey, "event_ids": stringsOr(a.EventIDs),
		"context": ctx, "observables": alertObservables(a, ctx),
	}
}

func stringsOr(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// alertObservables extracts typed observables from the alert's host, user,
// group key and context, with the same rules the event pipeline uses, so
// a condition can say observables.domain or observables.ip.
func alertObservables(a tansa.Alert, ctx map[string]any) map[string][]string {
	fields := map[string]any{}
	flatten("", ctx, fields)
	if a.Host != "" {
		fields["host.name"] = a.Host
	}
	if a.User != "" {
		fields["user.name"] = a.User
	}
	ev := &tansa.Event{Fields: fields, Raw: []byte(a.GroupKey)}
	out := map[string][]string{}
	for _, t := range []normalize.ObservableType{normalize.IP, normalize.Domain, normalize.URL, normalize.MD5,
		normalize.SHA1, normalize.SHA256, normalize.User, normalize.Host, normalize.Email} {
		out[string(t)] = []string{}
	}
	for _, o := range normalize.Observables(ev) {
		if l, ok := out[string(o.Type)]; ok && !slices.Contains(l, o.Value) {
			out[string(o.Type)] = append(l, o.Value)
		}
	}
	for _, l := range out {
		sort.Strings(l)
	}
	return out
}

func flatten(prefix string, v any, out map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flatten(key, e, out)
		}
	default:
		if prefix != "" {
			out[prefix] = v
		}
	}
}

// AlertFromMap reads an alert written as a map (a test case, a manual
// start): the fields of tansa.Alert by their JSON names, with rule as a
// short name for rule_title and observables, when given, taken as is.
func AlertFromMap(m map[string]any) (map[string]any, tansa.Alert, error) {
	var a tansa.Alert
	cp := map[string]any{}
	var given map[string]any
	for k, v := range m {
		switch k {
		case "rule":
			cp["rule_title"] = v
		case "tenant":
			cp["tenant_id"] = v
		case "observables":
			given, _ = v.(map[string]any)
			if given == nil {
				return nil, a, fmt.Errorf("observables must be a mapping of type to values")
			}
		default:
			cp[k] = v
		}
	}
	b, err := json.Marshal(cp)
	if err != nil {
		return nil, a, err
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, a, fmt.Errorf("alert: %v", err)
	}
	facts := AlertFacts(a)
	if given != nil {
		obs := facts["observables"].(map[string][]string)
		for t, v := range given {
			obs[t] = Strings(v)
		}
	}
	return facts, a, nil
}

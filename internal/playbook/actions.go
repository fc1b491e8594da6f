package playbook

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/intel"
	intelsvc "github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/playbook/notify"
	"github.com/tansa-sec/tansa/internal/playbook/outcall"
	"github.com/tansa-sec/tansa/internal/playbook/webhook"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Intel looks up indicators; *intelsvc.Service implements it.
type Intel interface {
	Indicators(ctx context.Context, c access.Caller, q intelsvc.Query) ([]intelsvc.Record, int, error)
}

// Events searches the event store; *events.Service implements it.
type Events interface {
	Search(ctx context.Context, c access.Caller, q events.Query) ([]tansa.Event, int, error)
	Top(ctx context.Context, c access.Caller, q events.Query, field string, n int) ([]events.FieldCount, error)
}

// Cases opens and updates cases for playbooks. Key is the step's
// idempotency key: a create repeated with the same key returns the case
// the first one made.
type Cases interface {
	CreateCase(ctx context.Context, tenant string, in CaseInput) (string, error)
	UpdateCase(ctx context.Context, tenant, id string, in CaseUpdate) error
}

// CaseInput is what a case.create step gives.
type CaseInput struct {
	Key         string
	Title       string
	Severity    string
	Template    string
	Description string
	AlertIDs    []string
}

// CaseUpdate is what a case.update step gives.
type CaseUpdate struct {
	Key      string
	Status   string
	Severity string
	Note     string
}

// Tenants resolves a tenant, for its language; *access.Service
// implements it.
type Tenants interface {
	Tenant(ctx context.Context, c access.Caller, id string) (tansa.Tenant, error)
}

// ActionDeps is what the actions reach. Intel, Events and Cases may be nil
// on a server without them; steps that need them then fail saying so.
type ActionDeps struct {
	Store   Store
	Sealer  *Sealer
	Intel   Intel
	Events  Events
	Cases   Cases
	Tenants Tenants
	// HTTP is the client for EDR consoles and webhooks (a default with a
	// 30 s timeout when nil).
	HTTP *http.Client
	// SMTPTLS overrides the TLS configuration of mail (tests, private CAs).
	SMTPTLS *tls.Config
	Log     *slog.Logger
	Now     func() time.Time
	// RetryBase is the first back-off of a transient failure (500 ms);
	// each retry doubles it, up to a minute, or waits as long as the
	// service's Retry-After asks.
	RetryBase time.Duration
}

// actions performs the steps of real runs.
type actions struct {
	ActionDeps
	allow *intel.Allowlist
}

func newActions(d ActionDeps) *actions {
	if d.HTTP == nil {
		d.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.RetryBase == 0 {
		d.RetryBase = 500 * time.Millisecond
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	allow, err := intel.DefaultAllowlist()
	if err != nil {
		d.Log.Warn("playbook: no allowlist for block steps", "err", err)
	}
	return &actions{ActionDeps: d, allow: allow}
}

// system is the caller of enrichment lookups, always narrowed to the
// run's tenant.
var system = access.Caller{Principal: access.System("playbook")}

func tenantScope(tenant string) access.Scope { return access.Scope{Tenants: []string{tenant}} }

// runExec is the executor of one run being processed: it saves a step as
// started before any outside call.
type runExec struct {
	a       *actions
	persist func(rec *StepRecord) error
}

func (x *runExec) decision(rs *runState, _ *Step, rec *StepRecord) (string, string) {
	if rs.dryRun {
		return "approve", "dry-run"
	}
	return rec.Decision, rec.DecidedBy
}

func (x *runExec) do(ctx context.Context, rs *runState, st *Step, input map[string]any, rec *StepRecord) (map[string]any, error) {
	a := x.a
	if !Effectful(st.Action) {
		return a.enrich(ctx, rs.tenant, st.Action, input)
	}
	if rs.dryRun {
		return map[string]any{"dry_run": true, "would": Describe(st.Action, input)}, nil
	}
	resumed := rec.Status == StepStarted
	if !resumed {
		rec.Status, rec.IdemKey = StepStarted, rs.id+"/"+st.ID
		if err := x.persist(rec); err != nil {
			return nil, fmt.Errorf("record the step before calling out: %w", err)
		}
	}
	retries := max(st.Retries, 3)
	for attempt := 0; ; attempt++ {
		if resumed || attempt > 0 {
			// The previous call's outcome is unknown (a crash, a timeout):
			// ask the other side before repeating it.
			out, done, err := a.reconcile(ctx, rs, st, input, rec.IdemKey)
			if err == nil && done {
				return out, nil
			}
			if errors.Is(err, errNotRepeatable) {
				return map[string]any{"delivered": "unknown", "note": "the server stopped during this step; chat messages are sent at most once, so it was not repeated"}, nil
			}
		}
		rec.Attempts++
		out, err := a.perform(ctx, rs, st, input, rec.IdemKey)
		if err == nil {
			return out, nil
		}
		transient, after := outcall.Transient(err)
		if !transient || attempt >= retries || ctx.Err() != nil {
			return nil, err
		}
		wait := a.RetryBase << attempt
		if after > wait {
			wait = after
		}
		wait = min(wait, time.Minute)
		a.Log.Info("playbook step: transient failure, retrying", "run", rs.id, "step", st.ID, "attempt", attempt+1, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

var errNotRepeatable = errors.New("not repeatable")

// reconcile reports whether an effect sent with key took place.
// Idempotent effects (block lists, webhooks with Idempotency-Key, mail
// with the same Message-ID, cases by key) answer "not done", so that the
// call is simply made again.
func (a *actions) reconcile(ctx context.Context, rs *runState, st *Step, input map[string]any, key string) (map[string]any, bool, error) {
	switch st.Action {
	case ActIsolate, ActRelease:
		c, err := a.connector(ctx, rs.tenant, Text(input["connector"]), "edr")
		if err != nil {
			return nil, false, err
		}
		cl, err := openEDR(c.Connector, c.secrets, a.HTTP)
		if err != nil {
			return nil, false, err
		}
		return cl.Reconcile(ctx, Text(input["host"]), key, st.Action == ActRelease)
	case ActNotify:
		c, err := a.connector(ctx, rs.tenant, Text(input["connector"]), "notify")
		if err == nil && (c.Kind == "slack" || c.Kind == "teams") {
			return nil, false, errNotRepeatable
		}
	}
	return nil, false, nil
}

// perform makes an effect happen.
func (a *actions) perform(ctx context.Context, rs *runState, st *Step, input map[string]any, key string) (map[string]any, error) {
	switch st.Action {
	case ActBlock:
		return a.block(ctx, rs.tenant, input, rs.id, st.ID, "playbook:"+rs.playbook)
	case ActUnblock:
		return a.unblock(ctx, rs.tenant, input)
	case ActIsolate, ActRelease:
		c, err := a.connector(ctx, rs.tenant, Text(input["connector"]), "edr")
		if err != nil {
			return nil, err
		}
		cl, err := openEDR(c.Connector, c.secrets, a.HTTP)
		if err != nil {
			return nil, err
		}
		if st.Action == ActRelease {
			return cl.Release(ctx, Text(input["host"]), Text(input["comment"]), key)
		}
		return cl.Isolate(ctx, Text(input["host"]), Text(input["comment"]), key)
	case ActNotify:
		return a.notify(ctx, rs, input, key)
	case ActWebhook:
		return a.webhook(ctx, rs.tenant, input, key)
	case ActCaseCreate:
		if a.Cases == nil {
			return nil, tansa.Errorf(tansa.Unavailable, "cases are not available on this server")
		}
		in := CaseInput{Key: key, Title: Text(input["title"]), Severity: Text(input["severity"]), Template: Text(input["template"]),
			Description: Text(input["description"]), AlertIDs: Strings(input["alert_id"])}
		id, err := a.Cases.CreateCase(ctx, rs.tenant, in)
		if err != nil {
			return nil, err
		}
		return map[string]any{"case_id": id}, nil
	case ActCaseUpdate:
		if a.Cases == nil {
			return nil, tansa.Errorf(tansa.Unavailable, "cases are not available on this server")
		}
		id := Text(input["case"])
		if id == "" {
			id = Text(rs.kase["id"])
		}
		if id == "" {
			return nil, tansa.Errorf(tansa.Invalid, "case.update: the run has no case (give with.case or create one first)")
		}
		err := a.Cases.UpdateCase(ctx, rs.tenant, id, CaseUpdate{Key: key, Status: Text(input["status"]), Severity: Text(input["severity"]), Note: Text(input["note"])})
		if err != nil {
			return nil, err
		}
		return map[string]any{"case_id": id}, nil
	}
	return nil, fmt.Errorf("action %s has no performer", st.Action)
}

// revert undoes a containment step: unblocks its values or releases its
// host.
func (a *actions) revert(ctx context.Context, tenant string, rec StepRecord) (map[string]any, error) {
	var input map[string]any
	if err := json.Unmarshal(rec.Input, &input); err != nil {
		return nil, fmt.Errorf("recorded input: %w", err)
	}
	switch rec.Action {
	case ActBlock:
		var out map[string]any
		_ = json.Unmarshal(rec.Output, &out)
		return a.unblock(ctx, tenant, map[string]any{"values": out["blocked"], "type": "auto"})
	case ActIsolate:
		c, err := a.connector(ctx, tenant, Text(input["connector"]), "edr")
		if err != nil {
			return nil, err
		}
		cl, err := openEDR(c.Connector, c.secrets, a.HTTP)
		if err != nil {
			return nil, err
		}
		return cl.Release(ctx, Text(input["host"]), "Released from Tansa", rec.IdemKey+"/revert")
	}
	return nil, tansa.Errorf(tansa.Invalid, "step %s (%s) is not a containment that can be reverted", rec.StepID, rec.Action)
}

type openConnector struct {
	Connector
	secrets map[string]string
}

func (a *actions) connector(ctx context.Context, tenant, name, purpose string) (openConnector, error) {
	if name == "" {
		return openConnector{}, tansa.Errorf(tansa.Invalid, "with.connector is empty")
	}
	c, err := a.Store.Connector(ctx, tenant, name)
	if err != nil {
		if tansa.KindOf(err) == tansa.NotFound {
			return openConnector{}, tansa.Errorf(tansa.Invalid, "the tenant has no connector %q (configure it under Connectors)", name)
		}
		return openConnector{}, err
	}
	if purposeOf(c.Kind) != purpose {
		return openConnector{}, wrongPurpose(c, purpose)
	}
	secrets, err := a.Sealer.Open(c.Secret)
	if err != nil {
		return openConnector{}, fmt.Errorf("connector %s: %w", name, err)
	}
	return openConnector{c, secrets}, nil
}

// blockValues reads the values of a block or unblock step with their
// intel types ("auto" guesses each value's type).
func blockValues(input map[string]any) ([]Block, error) {
	typ := Text(input["type"])
	if typ == "" {
		typ = "auto"
	}
	var out []Block
	for _, v := range Strings(input["values"]) {
		var t intel.Type
		var norm string
		var err error
		switch typ {
		case "auto":
			t, norm, err = intel.Guess(v)
		case "ip":
			t, norm, err = intel.Guess(v)
			if err == nil && t != intel.TypeIPv4 && t != intel.TypeIPv6 && t != intel.TypeCIDR {
				err = fmt.Errorf("%q is not an IP address", v)
			}
		case "domain":
			t = intel.TypeDomain
			norm, err = intel.Normalize(t, v)
		case "url":
			t = intel.TypeURL
			norm, err = intel.Normalize(t, v)
		default:
			err = fmt.Errorf("type %q must be ip, domain, url or auto", typ)
		}
		if err != nil {
			return nil, tansa.Errorf(tansa.Invalid, "block %q: %v", v, err)
		}
		switch t {
		case intel.TypeIPv4, intel.TypeIPv6, intel.TypeCIDR, intel.TypeDomain, intel.TypeURL:
		default:
			return nil, tansa.Errorf(tansa.Invalid, "block %q: a %s cannot go on a block list (IPs, networks, domains and URLs can)", v, t)
		}
		out = append(out, Block{Type: string(t), Value: norm})
	}
	if len(out) == 0 {
		return nil, tansa.Errorf(tansa.Invalid, "no values to block")
	}
	return out, nil
}

func (a *actions) block(ctx context.Context, tenant string, input map[string]any, runID, stepID, actor string) (map[string]any, error) {
	bs, err := blockValues(input)
	if err != nil {
		return nil, err
	}
	allow := a.allow
	var blocked, already, refused []string
	for _, b := range bs {
		if allow != nil {
			if reason, ok := allow.Check(intel.Type(b.Type), b.Value); ok {
				// Feeds never carry allowlisted values; say so here rather
				// than report a block that no device will see.
				refused = append(refused, b.Value+" ("+reason+")")
				continue
			}
		}
		b.TenantID, b.RunID, b.StepID, b.Actor, b.Reason, b.Created = tenant, runID, stepID, actor, Text(input["reason"]), a.Now().UTC()
		added, err := a.Store.PutBlock(ctx, b)
		if err != nil {
			return nil, err
		}
		if added {
			blocked = append(blocked, b.Value)
		} else {
			already = append(already, b.Value)
		}
	}
	if len(blocked)+len(already) == 0 {
		return nil, tansa.Errorf(tansa.Invalid, "every value is allowlisted and cannot be blocked: %s", strings.Join(refused, ", "))
	}
	// Values blocked before by this same step count as blocked by it, so
	// that a step repeated after a crash reports what it did.
	return map[string]any{"blocked": append(blocked, already...), "already_blocked": stringsOr(already), "refused": stringsOr(refused)}, nil
}

func (a *actions) unblock(ctx context.Context, tenant string, input map[string]any) (map[string]any, error) {
	bs, err := blockValues(input)
	if err != nil {
		return nil, err
	}
	var removed, absent []string
	for _, b := range bs {
		ok, err := a.Store.RemoveBlock(ctx, tenant, b.Type, b.Value)
		if err != nil {
			return nil, err
		}
		if ok {
			removed = append(removed, b.Value)
		} else {
			absent = append(absent, b.Value)
		}
	}
	return map[string]any{"unblocked": stringsOr(removed), "not_blocked": stringsOr(absent)}, nil
}

func (a *actions) webhook(ctx context.Context, tenant string, input map[string]any, key string) (map[string]any, error) {
	c, err := a.connector(ctx, tenant, Text(input["connector"]), "webhook")
	if err != nil {
		return nil, err
	}
	var body []byte
	switch b := input["body"].(type) {
	case string:
		body = []byte(b)
		if !json.Valid(body) {
			body, _ = json.Marshal(map[string]string{"text": b})
		}
	case nil:
		body, _ = json.Marshal(input)
	default:
		if body, err = json.Marshal(b); err != nil {
			return nil, err
		}
	}
	call := webhook.Call{URL: c.Config["url"], Secret: []byte(c.secrets["hmac_secret"]), Body: body, Key: key}
	if auth := c.secrets["authorization"]; auth != "" {
		call.Headers = map[string]string{"Authorization": auth}
	}
	status, resp, err := webhook.Send(ctx, a.HTTP, call, a.Now())
	if err != nil {
		return nil, err
	}
	out := map[string]any{"status": status}
	var v any
	if json.Unmarshal(resp, &v) == nil {
		out["response"] = v
	} else if len(resp) > 0 {
		out["response"] = string(resp[:min(len(resp), 2000)])
	}
	return out, nil
}

func (a *actions) notify(ctx context.Context, rs *runState, input map[string]any, key string) (map[string]any, error) {
	c, err := a.connector(ctx, rs.tenant, Text(input["connector"]), "notify")
	if err != nil {
		return nil, err
	}
	lang := c.Config["language"]
	if lang == "" && a.Tenants != nil {
		if t, err := a.Tenants.Tenant(ctx, system, rs.tenant); err == nil {
			lang = t.Language
		}
	}
	if lang != "ja" {
		lang = "en"
	}
	m, err := message(rs, input, lang)
	if err != nil {
		return nil, err
	}
	m.ID = strings.ReplaceAll(key, "/", ".") + "@tansa"
	switch c.Kind {
	case "smtp":
		cfg, err := smtpConfig(c.Config, c.secrets, a.SMTPTLS)
		if err != nil {
			return nil, err
		}
		if err := notify.SendMail(ctx, cfg, m); err != nil {
			return nil, err
		}
		return map[string]any{"via": "smtp", "to": cfg.To, "subject": m.Subject, "language": lang, "message_id": m.ID}, nil
	case "slack":
		if err := notify.Slack(ctx, a.HTTP, c.secrets["url"], m); err != nil {
			return nil, err
		}
	case "teams":
		if err := notify.Teams(ctx, a.HTTP, c.secrets["url"], m); err != nil {
			return nil, err
		}
	}
	return map[string]any{"via": c.Kind, "subject": m.Subject, "language": lang}, nil
}

// enrich runs the read-only lookups; they run in dry runs too, so a dry
// run shows what the real data says.
func (a *actions) enrich(ctx context.Context, tenant, action string, input map[string]any) (map[string]any, error) {
	since := a.Now().Add(-30 * 24 * time.Hour)
	switch action {
	case ActEnrichIntel:
		if a.Intel == nil {
			return nil, tansa.Errorf(tansa.Unavailable, "threat intelligence is not available on this server")
		}
		matches := []map[string]any{}
		for _, v := range Strings(input["values"]) {
			recs, _, err := a.Intel.Indicators(ctx, system, intelsvc.Query{Scope: tenantScope(tenant), Global: true, Text: v, Page: access.Page{Limit: 20}})
			if err != nil {
				return nil, err
			}
			for _, r := range recs {
				ind := r.Indicator
				if !strings.EqualFold(ind.Value, v) || ind.Revoked || ind.Allowlisted != "" {
					continue
				}
				matches = append(matches, map[string]any{"value": ind.Value, "type": string(ind.Type), "name": ind.Name,
					"confidence": ind.Confidence, "tlp": string(ind.TLP), "source": ind.Source, "global": ind.TenantID == "",
					"malware": ind.Context.Malware, "actors": ind.Context.ThreatActors})
			}
		}
		return map[string]any{"matches": matches, "count": len(matches), "malicious": len(matches) > 0}, nil
	case ActEnrichAsset:
		if a.Events == nil {
			return nil, tansa.Errorf(tansa.Unavailable, "events are not available on this server")
		}
		host := Text(input["host"])
		q := events.Query{Scope: tenantScope(tenant), Since: since, Fields: map[string]string{"host.name": host}, Page: access.Page{Limit: 1}}
		evs, n, err := a.Events.Search(ctx, system, q)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"host": host, "found": n > 0, "events": n, "last_seen": "", "ips": []string{}, "users": []string{}}
		if n > 0 {
			out["last_seen"] = evs[0].Time.UTC().Format(time.RFC3339)
			for field, key := range map[string]string{"source.ip": "ips", "user.name": "users"} {
				top, err := a.Events.Top(ctx, system, q, field, 5)
				if err != nil {
					return nil, err
				}
				vals := []string{}
				for _, fc := range top {
					vals = append(vals, fc.Value)
				}
				out[key] = vals
			}
		}
		return out, nil
	case ActEnrichPrevalence, ActEnrichSightings:
		if a.Events == nil {
			return nil, tansa.Errorf(tansa.Unavailable, "events are not available on this server")
		}
		per := map[string]any{}
		total := 0
		hosts, users := []string{}, []string{}
		for _, v := range Strings(input["values"]) {
			q := events.Query{Scope: tenantScope(tenant), Since: since, Observable: v, Page: access.Page{Limit: 1}}
			evs, n, err := a.Events.Search(ctx, system, q)
			if err != nil {
				return nil, err
			}
			total += n
			entry := map[string]any{"events": n}
			if n > 0 {
				entry["last_seen"] = evs[0].Time.UTC().Format(time.RFC3339)
			}
			if action == ActEnrichSightings && n > 0 {
				for field, dst := range map[string]*[]string{"host.name": &hosts, "user.name": &users} {
					top, err := a.Events.Top(ctx, system, q, field, 20)
					if err != nil {
						return nil, err
					}
					for _, fc := range top {
						if !contains(*dst, fc.Value) {
							*dst = append(*dst, fc.Value)
						}
					}
				}
			}
			per[v] = entry
		}
		if action == ActEnrichSightings {
			return map[string]any{"values": per, "events": total, "hosts": hosts, "users": users}, nil
		}
		return map[string]any{"values": per, "events": total, "rare": total < 5}, nil
	}
	return nil, fmt.Errorf("action %s is not an enrichment", action)
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

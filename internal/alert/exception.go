package alert

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Op is how a condition compares a field with its values. Comparisons
// ignore case, as Sigma's do.
type Op string

// The condition operators.
const (
	OpEquals     Op = "equals"
	OpContains   Op = "contains"
	OpStartsWith Op = "startswith"
	OpEndsWith   Op = "endswith"
	OpRegex      Op = "re" // Go regular expression, case-insensitive
)

// Ops lists every operator.
var Ops = []Op{OpEquals, OpContains, OpStartsWith, OpEndsWith, OpRegex}

// Condition is one field test of an exception: the event's field compared
// with any of Values.
type Condition struct {
	Field  string   `json:"field"`
	Op     Op       `json:"op"`
	Values []string `json:"values"`
}

// Exception suppresses a rule's matches in one tenant, optionally only for
// one host or user and only for events whose fields meet every condition.
// A suppressed match is counted on the exception (Hits, LastHit), never
// silently dropped. An exception past its expiry no longer applies.
type Exception struct {
	ID         string      `json:"id"`
	TenantID   string      `json:"tenant_id"`
	RuleID     string      `json:"rule_id"`
	Host       string      `json:"host,omitempty"`
	User       string      `json:"user,omitempty"`
	Conditions []Condition `json:"conditions"`
	Reason     string      `json:"reason"`
	Owner      string      `json:"owner"`
	Expires    time.Time   `json:"expires,omitzero"`
	Hits       int         `json:"hits"`
	LastHit    time.Time   `json:"last_hit,omitzero"`
	Creator    string      `json:"creator"`
	Created    time.Time   `json:"created"`
	Updated    time.Time   `json:"updated"`
}

// ExceptionQuery selects exceptions, newest first.
type ExceptionQuery struct {
	Scope  access.Scope
	RuleID string
	// Active keeps only exceptions not expired at this time.
	Active time.Time
	access.Page
}

// MaxConditions bounds an exception's conditions and each condition's
// values, so that one exception stays cheap to evaluate on every match.
const MaxConditions = 20

// Validate checks e's fields and compiles nothing; it says what is wrong.
func (e *Exception) Validate() error {
	if e.RuleID == "" {
		return tansa.Errorf(tansa.Invalid, "rule_id: required (the rule the exception suppresses)")
	}
	if strings.TrimSpace(e.Reason) == "" {
		return tansa.Errorf(tansa.Invalid, "reason: required (why these matches are benign)")
	}
	if strings.TrimSpace(e.Owner) == "" {
		return tansa.Errorf(tansa.Invalid, "owner: required (who answers for the exception)")
	}
	if len(e.Reason) > 1000 || len(e.Owner) > 200 || len(e.RuleID) > 200 || len(e.Host) > 255 || len(e.User) > 255 {
		return tansa.Errorf(tansa.Invalid, "exception: a field is too long (reason ≤ 1000, owner ≤ 200, rule_id ≤ 200, host and user ≤ 255 characters)")
	}
	if len(e.Conditions) > MaxConditions {
		return tansa.Errorf(tansa.Invalid, "conditions: %d exceeds the limit of %d", len(e.Conditions), MaxConditions)
	}
	for i, c := range e.Conditions {
		if c.Field == "" || len(c.Field) > 200 {
			return tansa.Errorf(tansa.Invalid, "conditions[%d].field: required, at most 200 characters", i)
		}
		if !slices.Contains(Ops, c.Op) {
			return tansa.Errorf(tansa.Invalid, "conditions[%d].op: %q must be one of equals, contains, startswith, endswith, re", i, c.Op)
		}
		if len(c.Values) == 0 || len(c.Values) > MaxConditions*5 {
			return tansa.Errorf(tansa.Invalid, "conditions[%d].values: between 1 and %d values", i, MaxConditions*5)
		}
		if c.Op == OpRegex {
			for j, v := range c.Values {
				if _, err := regexp.Compile("(?i)" + v); err != nil {
					return tansa.Errorf(tansa.Invalid, "conditions[%d].values[%d]: %v", i, j, err)
				}
			}
		}
	}
	return nil
}

// Matcher is a compiled set of exceptions of one tenant. It is safe for
// concurrent use: matching never writes to it.
type Matcher struct {
	byRule map[string][]compiled
}

type compiled struct {
	id, host, user string
	expires        time.Time
	conds          []compiledCond
}

type compiledCond struct {
	field string
	op    Op
	vals  []string
	res   []*regexp.Regexp
}

// NewMatcher compiles exceptions; ones that do not validate are left out.
func NewMatcher(es []Exception) *Matcher {
	m := &Matcher{byRule: map[string][]compiled{}}
	for _, e := range es {
		if e.Validate() != nil {
			continue
		}
		c := compiled{id: e.ID, host: strings.ToLower(e.Host), user: strings.ToLower(e.User), expires: e.Expires}
		for _, cd := range e.Conditions {
			cc := compiledCond{field: cd.Field, op: cd.Op}
			for _, v := range cd.Values {
				if cd.Op == OpRegex {
					cc.res = append(cc.res, regexp.MustCompile("(?i)"+v))
				} else {
					cc.vals = append(cc.vals, strings.ToLower(v))
				}
			}
			c.conds = append(c.conds, cc)
		}
		m.byRule[e.RuleID] = append(m.byRule[e.RuleID], c)
	}
	return m
}

// Len returns the number of compiled exceptions.
func (m *Matcher) Len() int {
	n := 0
	for _, cs := range m.byRule {
		n += len(cs)
	}
	return n
}

// Match returns the ID of the first exception covering alert a at time now,
// reading event fields through get (nil: the alert has no event, and only
// exceptions without conditions can cover it).
func (m *Matcher) Match(a *tansa.Alert, now time.Time, get func(field string) (any, bool)) (string, bool) {
	if m == nil {
		return "", false
	}
	for _, c := range m.byRule[a.RuleID] {
		if !c.expires.IsZero() && !now.Before(c.expires) {
			continue
		}
		if c.host != "" && c.host != strings.ToLower(a.Host) {
			continue
		}
		if c.user != "" && c.user != strings.ToLower(a.User) {
			continue
		}
		if c.matches(get) {
			return c.id, true
		}
	}
	return "", false
}

func (c *compiled) matches(get func(string) (any, bool)) bool {
	for _, cd := range c.conds {
		if get == nil {
			return false
		}
		v, ok := get(cd.field)
		if !ok || !cd.match(v) {
			return false
		}
	}
	return true
}

func (cd *compiledCond) match(v any) bool {
	if l, ok := v.([]string); ok {
		return slices.ContainsFunc(l, func(s string) bool { return cd.matchText(s) })
	}
	return cd.matchText(tansa.FieldText(v))
}

func (cd *compiledCond) matchText(s string) bool {
	if cd.op == OpRegex {
		return slices.ContainsFunc(cd.res, func(re *regexp.Regexp) bool { return re.MatchString(s) })
	}
	s = strings.ToLower(s)
	for _, v := range cd.vals {
		var ok bool
		switch cd.op {
		case OpEquals:
			ok = s == v
		case OpContains:
			ok = strings.Contains(s, v)
		case OpStartsWith:
			ok = strings.HasPrefix(s, v)
		case OpEndsWith:
			ok = strings.HasSuffix(s, v)
		}
		if ok {
			return true
		}
	}
	return false
}

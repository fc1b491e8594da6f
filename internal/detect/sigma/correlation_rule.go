package sigma

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// CorrelationType is one of the spec's correlation kinds.
type CorrelationType string

// The correlation kinds of the spec.
const (
	EventCount      CorrelationType = "event_count"
	ValueCount      CorrelationType = "value_count"
	Temporal        CorrelationType = "temporal"
	TemporalOrdered CorrelationType = "temporal_ordered"
	ValueSum        CorrelationType = "value_sum"
	ValueAvg        CorrelationType = "value_avg"
	ValuePercentile CorrelationType = "value_percentile"
)

// Correlation is the parsed correlation section of a rule.
type Correlation struct {
	Type     CorrelationType
	Rules    []string // referenced rules by id or name, in written order
	GroupBy  []string
	Timespan time.Duration
	// Aliases maps an alias to, per referenced rule name or id, the event
	// field that carries it.
	Aliases  map[string]map[string]string
	Field    string      // value_count, value_sum, value_avg, value_percentile
	Cond     []Threshold // all must hold
	Generate bool
}

// Threshold is one comparison of a correlation condition.
type Threshold struct {
	Op    string // gt gte lt lte eq neq
	Value float64
}

func (t Threshold) holds(x float64) bool {
	switch t.Op {
	case "gt":
		return x > t.Value
	case "gte":
		return x >= t.Value
	case "lt":
		return x < t.Value
	case "lte":
		return x <= t.Value
	case "eq":
		return x == t.Value
	case "neq":
		return x != t.Value
	}
	return false
}

// ParseTimespan reads the spec's "number + unit" durations (s, m, h, d; also
// w and y as used by some tools).
func ParseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, fmt.Errorf("timespan %q is not number+unit", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("timespan %q is not number+unit", s)
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 's':
		unit = time.Second
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	case 'w':
		unit = 7 * 24 * time.Hour
	case 'M':
		unit = 30 * 24 * time.Hour
	case 'y':
		unit = 365 * 24 * time.Hour
	default:
		return 0, fmt.Errorf("timespan %q has unknown unit", s)
	}
	return time.Duration(n) * unit, nil
}

func parseCorrelation(path string, n *yaml.Node) (*Correlation, error) {
	if n.Kind != yaml.MappingNode {
		return nil, perr(path, n, "correlation is not a mapping")
	}
	c := &Correlation{}
	var condNode, tsNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		switch k.Value {
		case "type":
			c.Type = CorrelationType(scalarString(v))
		case "rules":
			c.Rules = stringList(v)
		case "group-by":
			c.GroupBy = stringList(v)
		case "timespan", "timeframe":
			tsNode = v
		case "condition":
			condNode = v
		case "generate":
			c.Generate = strings.EqualFold(scalarString(v), "true")
		case "aliases":
			if v.Kind != yaml.MappingNode {
				return nil, perr(path, v, "aliases is not a mapping")
			}
			c.Aliases = map[string]map[string]string{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				alias, m := v.Content[j].Value, resolveAlias(v.Content[j+1])
				if m.Kind != yaml.MappingNode {
					return nil, perr(path, m, "alias %q is not a mapping of rule to field", alias)
				}
				c.Aliases[alias] = map[string]string{}
				for x := 0; x+1 < len(m.Content); x += 2 {
					c.Aliases[alias][m.Content[x].Value] = scalarString(m.Content[x+1])
				}
			}
		}
	}
	switch c.Type {
	case EventCount, ValueCount, Temporal, TemporalOrdered, ValueSum, ValueAvg, ValuePercentile:
	default:
		return nil, perr(path, n, "unknown correlation type %q", c.Type)
	}
	if len(c.Rules) == 0 {
		return nil, perr(path, n, "correlation names no rules")
	}
	if tsNode == nil {
		return nil, perr(path, n, "correlation has no timespan")
	}
	ts, err := ParseTimespan(scalarString(tsNode))
	if err != nil {
		return nil, perr(path, tsNode, "%v", err)
	}
	c.Timespan = ts
	if condNode != nil {
		if condNode.Kind != yaml.MappingNode {
			return nil, perr(path, condNode, "correlation condition is not a mapping")
		}
		for j := 0; j+1 < len(condNode.Content); j += 2 {
			k, v := condNode.Content[j].Value, condNode.Content[j+1]
			if k == "field" {
				c.Field = scalarString(v)
				continue
			}
			switch k {
			case "gt", "gte", "lt", "lte", "eq", "neq":
			default:
				return nil, perr(path, condNode.Content[j], "unknown correlation condition operator %q", k)
			}
			f, err := strconv.ParseFloat(scalarString(v), 64)
			if err != nil {
				return nil, perr(path, v, "correlation condition %s needs a number", k)
			}
			c.Cond = append(c.Cond, Threshold{Op: k, Value: f})
		}
	}
	switch c.Type {
	case Temporal, TemporalOrdered:
		if len(c.Cond) == 0 {
			// Without a condition every referenced rule must occur.
			c.Cond = []Threshold{{Op: "gte", Value: float64(len(c.Rules))}}
		}
	default:
		if len(c.Cond) == 0 {
			return nil, perr(path, n, "%s correlation needs a condition", c.Type)
		}
	}
	switch c.Type {
	case ValueCount, ValueSum, ValueAvg, ValuePercentile:
		if c.Field == "" {
			return nil, perr(path, condNode, "%s correlation needs condition.field", c.Type)
		}
	}
	return c, nil
}

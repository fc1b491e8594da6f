package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rule is one parsed Sigma rule: a detection rule or a correlation rule.
type Rule struct {
	Path        string // file the rule came from
	Line        int    // line of the document's first key
	ID          string
	Name        string
	Title       string
	Status      string
	Level       string
	Description string
	Author      string
	Tags        []string
	Logsource   Logsource
	Detection   *Detection   // set for detection rules
	Correlation *Correlation // set for correlation rules
	Filter      *Filter      // set for global filters (sigma-filters-specification)
}

// Filter is a global filter: its detection excludes events from the rules
// it names (by id or name), which then match only when their own condition
// holds and the filter's does not.
type Filter struct {
	Rules     []string
	Detection *Detection
}

// Logsource names the events a rule applies to.
type Logsource struct {
	Product  string
	Category string
	Service  string
}

// Detection is the parsed detection section of a rule.
type Detection struct {
	Searches   map[string]*Search
	Conditions []cond // several conditions are ORed
	condText   []string
	Timeframe  string
}

// Search is one search identifier: a list of field maps (ORed, each an AND
// of its items) or a list of keywords.
type Search struct {
	Name     string
	Line     int
	Maps     [][]*Item
	Keywords *Item // nil unless the search is a keyword list
}

// Item is one "field|modifiers: values" entry.
type Item struct {
	Field     string
	Modifiers []string
	Values    []rvalue
	Line      int
}

// ParseError locates a rule problem in its file.
type ParseError struct {
	Path   string
	Line   int
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Reason)
}

// ParseFile reads every YAML document of path as a rule.
func ParseFile(path string) ([]*Rule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("parse rule %s: %w", path, err)
	}
	return Parse(path, b)
}

// Parse reads every YAML document in b as a rule; path names the source in
// errors. A document that is not a valid rule yields a *ParseError naming its
// line and reason; valid documents before it are still returned.
func Parse(path string, b []byte) (rules []*Rule, err error) {
	defer func() {
		// yaml.v3 panics on some malformed input; report it as a parse error.
		if p := recover(); p != nil {
			err = &ParseError{Path: path, Line: 1, Reason: fmt.Sprintf("yaml decoder failed: %v", p)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return rules, &ParseError{Path: path, Line: yamlErrLine(err), Reason: err.Error()}
		}
		if len(doc.Content) == 0 {
			continue
		}
		r, err := parseRule(path, doc.Content[0])
		if err != nil {
			return rules, err
		}
		rules = append(rules, r)
	}
	if len(rules) == 0 {
		return nil, &ParseError{Path: path, Line: 1, Reason: "no rule in file"}
	}
	return rules, nil
}

func yamlErrLine(err error) int {
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		j := i + 5
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if n, e := strconv.Atoi(s[i+5 : j]); e == nil {
			return n
		}
	}
	return 1
}

// ParseDir parses every .yml and .yaml file under dir. It returns the rules
// that parsed and one error per file that did not.
func ParseDir(dir string) ([]*Rule, []error) {
	var rules []*Rule
	var errs []error
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, fmt.Errorf("walk %s: %w", p, err))
			return nil
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			return nil
		}
		rs, err := ParseFile(p)
		rules = append(rules, rs...)
		if err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("walk %s: %w", dir, err))
	}
	return rules, errs
}

func perr(path string, n *yaml.Node, format string, args ...any) error {
	line := 1
	if n != nil {
		line = n.Line
	}
	return &ParseError{Path: path, Line: line, Reason: fmt.Sprintf(format, args...)}
}

func scalarString(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func stringList(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		if c.Kind == yaml.ScalarNode {
			out = append(out, c.Value)
		}
	}
	return out
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func parseRule(path string, root *yaml.Node) (*Rule, error) {
	root = resolveAlias(root)
	if root.Kind != yaml.MappingNode {
		return nil, perr(path, root, "rule document is not a mapping")
	}
	r := &Rule{Path: path, Line: root.Line}
	var detection, correlation, filter *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolveAlias(root.Content[i+1])
		switch k.Value {
		case "id":
			r.ID = scalarString(v)
		case "name":
			r.Name = scalarString(v)
		case "title":
			r.Title = scalarString(v)
		case "status":
			r.Status = scalarString(v)
		case "level":
			r.Level = scalarString(v)
		case "description":
			r.Description = scalarString(v)
		case "author":
			r.Author = scalarString(v)
		case "tags":
			r.Tags = stringList(v)
		case "logsource":
			if v.Kind != yaml.MappingNode {
				return nil, perr(path, v, "logsource is not a mapping")
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				switch v.Content[j].Value {
				case "product":
					r.Logsource.Product = strings.ToLower(scalarString(v.Content[j+1]))
				case "category":
					r.Logsource.Category = strings.ToLower(scalarString(v.Content[j+1]))
				case "service":
					r.Logsource.Service = strings.ToLower(scalarString(v.Content[j+1]))
				}
			}
		case "detection":
			detection = v
		case "correlation":
			correlation = v
		case "filter":
			filter = v
		}
	}
	if r.Title == "" {
		return nil, perr(path, root, "rule has no title")
	}
	n := 0
	for _, x := range []*yaml.Node{detection, correlation, filter} {
		if x != nil {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, perr(path, root, "rule has more than one of detection, correlation and filter")
	case filter != nil:
		if filter.Kind != yaml.MappingNode {
			return nil, perr(path, filter, "filter is not a mapping")
		}
		f := &Filter{}
		body := &yaml.Node{Kind: yaml.MappingNode, Line: filter.Line, Column: filter.Column}
		for i := 0; i+1 < len(filter.Content); i += 2 {
			if filter.Content[i].Value == "rules" {
				f.Rules = stringList(resolveAlias(filter.Content[i+1]))
				continue
			}
			body.Content = append(body.Content, filter.Content[i], filter.Content[i+1])
		}
		if len(f.Rules) == 0 {
			return nil, perr(path, filter, "filter names no rules")
		}
		d, err := parseDetection(path, body)
		if err != nil {
			return nil, err
		}
		f.Detection = d
		r.Filter = f
	case detection != nil:
		d, err := parseDetection(path, detection)
		if err != nil {
			return nil, err
		}
		r.Detection = d
	case correlation != nil:
		c, err := parseCorrelation(path, correlation)
		if err != nil {
			return nil, err
		}
		r.Correlation = c
	default:
		return nil, perr(path, root, "rule has no detection, correlation or filter")
	}
	return r, nil
}

func parseDetection(path string, n *yaml.Node) (*Detection, error) {
	if n.Kind != yaml.MappingNode {
		return nil, perr(path, n, "detection is not a mapping")
	}
	d := &Detection{Searches: map[string]*Search{}}
	var condNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		switch k.Value {
		case "condition":
			condNode = v
			continue
		case "timeframe":
			d.Timeframe = scalarString(v)
			continue
		}
		s, err := parseSearch(path, k.Value, v)
		if err != nil {
			return nil, err
		}
		s.Line = k.Line
		d.Searches[k.Value] = s
	}
	if condNode == nil {
		return nil, perr(path, n, "detection has no condition")
	}
	names := map[string]bool{}
	var list []string
	for name := range d.Searches {
		names[name] = true
		list = append(list, name)
	}
	for _, text := range stringList(condNode) {
		c, err := parseCondition(text)
		if err != nil {
			return nil, perr(path, condNode, "condition %q: %v", text, err)
		}
		if err := checkCondition(c, names, list); err != nil {
			return nil, perr(path, condNode, "condition %q: %v", text, err)
		}
		d.Conditions = append(d.Conditions, c)
		d.condText = append(d.condText, text)
	}
	if len(d.Conditions) == 0 {
		return nil, perr(path, condNode, "condition is empty")
	}
	return d, nil
}

func parseSearch(path, name string, n *yaml.Node) (*Search, error) {
	s := &Search{Name: name}
	switch n.Kind {
	case yaml.MappingNode:
		m, err := parseFieldMap(path, n)
		if err != nil {
			return nil, err
		}
		s.Maps = [][]*Item{m}
	case yaml.SequenceNode:
		allMaps := true
		for _, c := range n.Content {
			if resolveAlias(c).Kind != yaml.MappingNode {
				allMaps = false
			}
		}
		if allMaps && len(n.Content) > 0 {
			for _, c := range n.Content {
				m, err := parseFieldMap(path, resolveAlias(c))
				if err != nil {
					return nil, err
				}
				s.Maps = append(s.Maps, m)
			}
			return s, nil
		}
		vals, err := parseValues(path, n)
		if err != nil {
			return nil, err
		}
		s.Keywords = &Item{Values: vals, Line: n.Line}
	case yaml.ScalarNode:
		vals, err := parseValues(path, n)
		if err != nil {
			return nil, err
		}
		s.Keywords = &Item{Values: vals, Line: n.Line}
	default:
		return nil, perr(path, n, "search %q has an unsupported YAML form", name)
	}
	if err := s.validate(path); err != nil {
		return nil, err
	}
	return s, nil
}

func parseFieldMap(path string, n *yaml.Node) ([]*Item, error) {
	var items []*Item
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		parts := strings.Split(k.Value, "|")
		it := &Item{Field: parts[0], Line: k.Line}
		for _, m := range parts[1:] {
			it.Modifiers = append(it.Modifiers, strings.ToLower(strings.TrimSpace(m)))
		}
		vals, err := parseValues(path, v)
		if err != nil {
			return nil, err
		}
		it.Values = vals
		items = append(items, it)
	}
	return items, nil
}

func parseValues(path string, n *yaml.Node) ([]rvalue, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := scalarValue(path, n)
		if err != nil {
			return nil, err
		}
		return []rvalue{v}, nil
	case yaml.SequenceNode:
		var out []rvalue
		for _, c := range n.Content {
			c = resolveAlias(c)
			if c.Kind != yaml.ScalarNode {
				return nil, perr(path, c, "value list holds a nested structure")
			}
			v, err := scalarValue(path, c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if len(out) == 0 {
			return nil, perr(path, n, "empty value list")
		}
		return out, nil
	default:
		return nil, perr(path, n, "field value is a mapping")
	}
}

func scalarValue(path string, n *yaml.Node) (rvalue, error) {
	switch n.ShortTag() {
	case "!!null":
		return rvalue{kind: kindNull}, nil
	case "!!bool":
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil {
			return rvalue{kind: kindString, text: n.Value}, nil
		}
		return rvalue{kind: kindBool, text: n.Value, b: b}, nil
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			text := strconv.FormatInt(i, 10)
			if len(n.Value) > 2 && n.Value[0] == '0' && (n.Value[1] == 'x' || n.Value[1] == 'X') {
				// Windows renders hex fields (GrantedAccess: 0x1410) in hex;
				// keep the written form so text values match it too.
				text = n.Value
			}
			return rvalue{kind: kindNumber, text: text, num: float64(i), isInt: true}, nil
		}
		return rvalue{kind: kindString, text: n.Value}, nil
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return rvalue{kind: kindNumber, text: n.Value, num: f}, nil
		}
		return rvalue{kind: kindString, text: n.Value}, nil
	default:
		return rvalue{kind: kindString, text: n.Value}, nil
	}
}

package sigma

import (
	"embed"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed data/logsources.yaml data/mappings/*.yaml
var dataFS embed.FS

// Layouts lists the field-mapping layouts shipped with the engine, in the
// order their alternatives are tried.
var Layouts = []string{"windows", "ecs", "nxlog"}

// logsourceTable maps "product/category/<name>" and "product/service/<name>"
// to parsed searches.
type logsourceTable map[string]*Search

func loadLogsources() (logsourceTable, error) {
	const name = "data/logsources.yaml"
	b, err := dataFS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("load logsources: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("load logsources: %w", err)
	}
	t := logsourceTable{}
	doc := root.Content[0]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		product, kinds := doc.Content[i].Value, doc.Content[i+1]
		for j := 0; j+1 < len(kinds.Content); j += 2 {
			kind, entries := kinds.Content[j].Value, kinds.Content[j+1]
			for k := 0; k+1 < len(entries.Content); k += 2 {
				key := product + "/" + kind + "/" + entries.Content[k].Value
				s, err := parseSearch(name, key, entries.Content[k+1])
				if err != nil {
					return nil, fmt.Errorf("load logsources: %w", err)
				}
				t[key] = s
			}
		}
	}
	return t, nil
}

// loadMappings merges the named layouts' field alternatives in order.
func loadMappings(layouts []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, l := range layouts {
		b, err := dataFS.ReadFile("data/mappings/" + l + ".yaml")
		if err != nil {
			return nil, fmt.Errorf("load mapping %s: %w", l, err)
		}
		var m struct {
			Fields map[string][]string `yaml:"fields"`
		}
		if err := yaml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("load mapping %s: %w", l, err)
		}
		keys := make([]string, 0, len(m.Fields))
		for k := range m.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, alt := range m.Fields[k] {
				if alt != k && !contains(out[k], alt) {
					out[k] = append(out[k], alt)
				}
			}
		}
	}
	return out, nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// filterKeys lists the logsource table entries a rule's logsource selects.
func filterKeys(ls Logsource) []string {
	var keys []string
	if ls.Product == "" {
		return nil
	}
	if ls.Category != "" {
		keys = append(keys, ls.Product+"/category/"+ls.Category)
	}
	if ls.Service != "" {
		keys = append(keys, ls.Product+"/service/"+ls.Service)
	}
	return keys
}

func (ls Logsource) String() string {
	return strings.Join([]string{ls.Product, ls.Category, ls.Service}, "/")
}

package sigma

import "sort"

// FieldNames returns the sorted, distinct field names the detection's
// searches name: the fields a match is shown with (hunt output, alerts).
func (d *Detection) FieldNames() []string {
	set := map[string]bool{}
	for _, s := range d.Searches {
		for _, m := range s.Maps {
			for _, it := range m {
				if it.Field != "" {
					set[it.Field] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

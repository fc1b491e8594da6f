package cases_test

import (
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// TestBuiltinTemplates checks the shipped templates: one per incident type,
// every text in both languages, tasks in a phase of their own, and a round
// trip through the editable YAML.
func TestBuiltinTemplates(t *testing.T) {
	ts, err := cases.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 5 {
		t.Fatalf("%d built-in templates, want 5", len(ts))
	}
	for _, tm := range ts {
		if len(tm.Tasks) < 4 {
			t.Errorf("%s: only %d tasks", tm.Type, len(tm.Tasks))
		}
		phases := map[cases.Phase]bool{}
		for i, k := range tm.Tasks {
			phases[k.Phase] = true
			if k.Title.EN == k.Title.JA || !strings.ContainsFunc(k.Title.JA, func(r rune) bool { return r >= 0x3040 }) {
				t.Errorf("%s task %d: Japanese title %q is not Japanese", tm.Type, i, k.Title.JA)
			}
			if (k.Description.EN == "") != (k.Description.JA == "") {
				t.Errorf("%s task %d: description in one language only", tm.Type, i)
			}
		}
		if !phases[cases.PhaseTriage] || !phases[cases.PhaseContainment] || !phases[cases.PhaseRecovery] {
			t.Errorf("%s: tasks cover phases %v; want triage, containment and recovery at least", tm.Type, phases)
		}
		again, err := cases.ParseTemplate([]byte(tm.YAML()))
		if err != nil || again.YAML() != tm.YAML() || len(again.Tasks) != len(tm.Tasks) {
			t.Errorf("%s: YAML round trip: %v", tm.Type, err)
		}
	}
}

func TestParseTemplateErrors(t *testing.T) {
	good := "type: x\nseverity: low\nname: {en: X, ja: エックス}\n"
	tests := []struct{ doc, want string }{
		{"", "empty"},
		{"type: x\nseverity: low\n  bad: indent\n", "line 3"},
		{good + "colour: red\n", "field colour not found"},
		{good + "---\ntype: y\n", "one document"},
		{"type: X Y\nseverity: low\nname: {en: X, ja: X}\n", "type"},
		{"type: x\nseverity: urgent\nname: {en: X, ja: X}\n", "severity"},
		{"type: x\nseverity: low\nname: {en: X}\n", "name.ja is required"},
		{good + "tasks:\n  - {phase: closed, title: {en: a, ja: あ}}\n", "tasks[0].phase"},
		{good + "tasks:\n  - {title: {en: a, ja: ''}}\n", "tasks[0].title.ja"},
		{good + "tasks:\n  - {title: {en: a, ja: あ}, due_hours: -1}\n", "tasks[0].due_hours"},
		{"\xff\xfe", "UTF-8"},
		{`{"type":"x","severity":"low","name":{"en":"X","ja":"エ"},"tasks":"no"}`, "line 1: cannot unmarshal"},
	}
	for _, tc := range tests {
		_, err := cases.ParseTemplate([]byte(tc.doc))
		if tansa.KindOf(err) != tansa.Invalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseTemplate(%q): %v, want an Invalid error mentioning %q", tc.doc, err, tc.want)
		}
	}
	// JSON is accepted too, and a task's phase defaults to triage.
	tm, err := cases.ParseTemplate([]byte(`{"type":"x","severity":"low","name":{"en":"X","ja":"エ"},"tasks":[{"title":{"en":"a","ja":"あ"}}]}`))
	if err != nil || tm.Tasks[0].Phase != cases.PhaseTriage {
		t.Errorf("JSON template: %+v %v", tm, err)
	}
	if _, err := cases.ParseTemplate([]byte(strings.Repeat("#", cases.MaxTemplateBytes+1))); tansa.KindOf(err) != tansa.TooLarge {
		t.Errorf("oversized: %v", err)
	}
}

// FuzzParseTemplate: any input either parses into a template that
// validates and survives a YAML round trip, or fails with a kind a user can
// act on — never a panic or an internal error.
func FuzzParseTemplate(f *testing.F) {
	ts, err := cases.Builtins()
	if err != nil {
		f.Fatal(err)
	}
	for _, tm := range ts {
		tm.Tasks = tm.Tasks[:1] // a short seed per type: the mutator works on small inputs
		f.Add([]byte(tm.YAML()))
	}
	f.Add([]byte(`{"type":"x","severity":"low","name":{"en":"X","ja":"エ"},"tasks":[{"title":{"en":"a","ja":"あ"}}]}`))
	f.Add([]byte("type: x\nseverity: low\nname: &a {en: X, ja: Y}\ndescription: *a\n"))
	f.Add([]byte("- [1, 2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tm, err := cases.ParseTemplate(data)
		if err != nil {
			if k := tansa.KindOf(err); k != tansa.Invalid && k != tansa.TooLarge {
				t.Fatalf("error of kind %v: %v", k, err)
			}
			return
		}
		if err := tm.Validate(); err != nil {
			t.Fatalf("parsed template does not validate: %v", err)
		}
		again, err := cases.ParseTemplate([]byte(tm.YAML()))
		if err != nil {
			t.Fatalf("round trip of %q: %v", tm.YAML(), err)
		}
		if again.YAML() != tm.YAML() {
			t.Fatalf("round trip changed the template:\n%s\n%s", tm.YAML(), again.YAML())
		}
	})
}

package playbook_test

import (
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/playbook"
	"github.com/tansa-sec/tansa/internal/tansa"
)

const good = `name: Block
trigger:
  alert: level == "high"
steps:
  - id: approve
    action: approval
    approvers: {roles: [tenant-admin]}
    timeout: 1h
  - id: block
    action: block
    with: {values: "{{ observables.domain }}"}
`

func TestParseValid(t *testing.T) {
	d, err := playbook.Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "Block" || len(d.Steps) != 2 || d.Steps[0].OnTimeout != "reject" || d.Steps[0].OnReject != "end" || d.Steps[1].Line != 9 {
		t.Errorf("parsed %+v; steps %+v %+v", d, d.Steps[0], d.Steps[1])
	}
}

// TestParseErrorsNameTheLine checks that each mistake is reported at the
// line a person would fix.
func TestParseErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		want      string
	}{
		{"misspelt variable", strings.Replace(good, `level == "high"`, `levle == "high"`, 1), 3, "unknown name levle"},
		{"unknown action", strings.Replace(good, "action: block", "action: blok", 1), 10, `action "blok" is not one of`},
		{"unknown field", strings.Replace(good, "timeout: 1h", "timeout: 1h\n    timeuot: 2h", 1), 9, `unknown field "timeuot"`},
		{"bad duration", strings.Replace(good, "timeout: 1h", "timeout: soon", 1), 8, "timeout must be a duration"},
		{"no approvers", strings.Replace(good, "    approvers: {roles: [tenant-admin]}\n", "", 1), 5, "needs approvers"},
		{"bad role", strings.Replace(good, "[tenant-admin]", "[ingest]", 1), 7, `"ingest" is not a role`},
		{"bad template", strings.Replace(good, "{{ observables.domain }}", "{{ observables.domain +++ }}", 1), 11, "with.values"},
		{"missing input", strings.Replace(good, `    with: {values: "{{ observables.domain }}"}`+"\n", "", 1), 9, "block needs with.values"},
		{"duplicate id", strings.Replace(good, "id: block", "id: approve", 1), 9, `step id "approve" is already used`},
		{"backward goto", good + "  - id: again\n    action: branch\n    cases:\n      - if: \"true\"\n        goto: approve\n", 15, "jumps backwards"},
		{"not yaml", "name: [unclosed\n", 1, "not valid YAML"},
		{"test names no step", good + "tests:\n  - name: t\n    alert: {level: high}\n    want: {steps: [blok]}\n", 15, `"blok" names no step`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := playbook.Parse([]byte(tc.src))
			if tansa.KindOf(err) != tansa.Invalid {
				t.Fatalf("error %v, want kind invalid", err)
			}
			ps := playbook.ProblemsOf(err)
			for _, p := range ps {
				if p.Line == tc.line && strings.Contains(p.Message, tc.want) {
					if !strings.Contains(tansa.MessageOf(err), "line ") {
						t.Errorf("message %q does not name the line", tansa.MessageOf(err))
					}
					return
				}
			}
			t.Errorf("problems %v; want line %d containing %q", ps, tc.line, tc.want)
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("name: x\ntrigger: {manual: true}\nsteps: [{id: a, action: wait, duration: 1s}]\n"))
	f.Add([]byte("steps: {id: 1}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		d, err := playbook.Parse(src)
		if err != nil {
			if tansa.KindOf(err) != tansa.Invalid || len(playbook.ProblemsOf(err)) == 0 {
				t.Fatalf("error %v is not a list of problems", err)
			}
			return
		}
		d.RunTests(t.Context())
		d.Simulate(t.Context(), map[string]any{}, true, nil, nil)
	})
}

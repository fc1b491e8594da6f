package cases

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// Text is a message in the console's two languages.
type Text struct {
	EN string `yaml:"en" json:"en"`
	JA string `yaml:"ja" json:"ja"`
}

// In returns the text in lang ("ja" or "en"), falling back to the other.
func (t Text) In(lang string) string {
	if lang == "ja" && t.JA != "" {
		return t.JA
	}
	if t.EN != "" {
		return t.EN
	}
	return t.JA
}

// TaskTemplate is one task a template creates.
type TaskTemplate struct {
	Phase       Phase `yaml:"phase" json:"phase"`
	Title       Text  `yaml:"title" json:"title"`
	Description Text  `yaml:"description,omitempty" json:"description"`
	// DueHours sets the task's due date this many hours after the case
	// is created; 0 means no due date.
	DueHours int `yaml:"due_hours,omitempty" json:"due_hours,omitempty"`
}

// Template is a case template for one incident type: the severity a new
// case of that type starts with and the tasks it gets. Tansa ships one for
// each of BuiltinTypes; a tenant may keep its own version of any of them.
type Template struct {
	Type        string         `yaml:"type" json:"type"`
	TenantID    string         `yaml:"-" json:"tenant_id,omitempty"` // empty: Tansa's own
	Name        Text           `yaml:"name" json:"name"`
	Description Text           `yaml:"description,omitempty" json:"description"`
	Severity    string         `yaml:"severity" json:"severity"`
	Tasks       []TaskTemplate `yaml:"tasks" json:"tasks"`
}

// BuiltinTypes are the incident types Tansa ships templates for.
var BuiltinTypes = []string{"malware", "phishing", "account-compromise", "data-leak", "vulnerability"}

// Limits of a template document.
const (
	MaxTemplateBytes = 256 << 10
	MaxTemplateTasks = 100
	maxTextLen       = 4000
)

var typeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

//go:embed templates/*.yaml
var builtinFS embed.FS

// Builtins returns Tansa's own templates, one per BuiltinTypes entry, in
// that order. They are data (templates/*.yaml) and are checked by the same
// parser as a tenant's.
func Builtins() ([]Template, error) {
	var out []Template
	for _, typ := range BuiltinTypes {
		b, err := fs.ReadFile(builtinFS, "templates/"+typ+".yaml")
		if err != nil {
			return nil, fmt.Errorf("built-in template %s: %w", typ, err)
		}
		t, err := ParseTemplate(b)
		if err != nil {
			return nil, fmt.Errorf("built-in template %s: %w", typ, err)
		}
		if t.Type != typ {
			return nil, fmt.Errorf("built-in template %s.yaml: type is %q", typ, t.Type)
		}
		out = append(out, t)
	}
	return out, nil
}

// ParseTemplate reads a template document in YAML (or JSON, which YAML
// includes). Unknown fields, a second document and invalid values are
// refused with an error of kind tansa.Invalid that names the field and, for
// syntax errors, the line.
func ParseTemplate(data []byte) (Template, error) {
	var t Template
	if len(data) > MaxTemplateBytes {
		return t, tansa.Errorf(tansa.TooLarge, "template: %d bytes exceeds the %d-byte limit", len(data), MaxTemplateBytes)
	}
	if !utf8.Valid(data) {
		return t, tansa.Errorf(tansa.Invalid, "template: not UTF-8 text")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return t, tansa.Errorf(tansa.Invalid, "template: empty document")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return Template{}, tansa.Errorf(tansa.Invalid, "template: %s", yamlMessage(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Template{}, tansa.Errorf(tansa.Invalid, "template: one document expected, found more")
	}
	if err := t.Validate(); err != nil {
		return Template{}, err
	}
	return t, nil
}

// yamlMessage trims the decoder's prefix; its text names the line.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return strings.ReplaceAll(msg, "\n", "; ")
}

// Validate checks t and says which field is wrong, with kind tansa.Invalid.
func (t *Template) Validate() error {
	bad := func(format string, args ...any) error {
		return tansa.Errorf(tansa.Invalid, "template: "+format, args...)
	}
	if !typeRE.MatchString(t.Type) {
		return bad("type: %q must be 1 to 40 lowercase letters, digits or hyphens", t.Type)
	}
	if !ValidSeverity(t.Severity) {
		return bad("severity: %q must be one of %s", t.Severity, strings.Join(Severities, ", "))
	}
	if err := checkText("name", t.Name, true, 200); err != nil {
		return err
	}
	if err := checkText("description", t.Description, false, maxTextLen); err != nil {
		return err
	}
	if len(t.Tasks) > MaxTemplateTasks {
		return bad("tasks: %d tasks exceed the limit of %d", len(t.Tasks), MaxTemplateTasks)
	}
	for i := range t.Tasks {
		k := &t.Tasks[i]
		where := fmt.Sprintf("tasks[%d]", i)
		if k.Phase == "" {
			k.Phase = PhaseTriage
		}
		if !k.Phase.Valid() || k.Phase == PhaseClosed || k.Phase == PhaseNew {
			return bad("%s.phase: %q must be triage, containment, eradication or recovery", where, k.Phase)
		}
		if err := checkText(where+".title", k.Title, true, 200); err != nil {
			return err
		}
		if err := checkText(where+".description", k.Description, false, maxTextLen); err != nil {
			return err
		}
		if k.DueHours < 0 || k.DueHours > 24*365 {
			return bad("%s.due_hours: %d must be from 0 to 8760", where, k.DueHours)
		}
	}
	return nil
}

func checkText(field string, t Text, required bool, max int) error {
	for lang, s := range map[string]string{"en": t.EN, "ja": t.JA} {
		if required && strings.TrimSpace(s) == "" {
			return tansa.Errorf(tansa.Invalid, "template: %s.%s is required (write it in English and Japanese)", field, lang)
		}
		if utf8.RuneCountInString(s) > max {
			return tansa.Errorf(tansa.Invalid, "template: %s.%s is longer than %d characters", field, lang, max)
		}
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' }) {
			return tansa.Errorf(tansa.Invalid, "template: %s.%s contains control characters", field, lang)
		}
	}
	return nil
}

// YAML renders t as the document ParseTemplate reads, for editing.
func (t Template) YAML() string {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	_ = enc.Encode(t) // a Template always encodes
	return b.String()
}

// findTemplate returns the template of typ from ts.
func findTemplate(ts []Template, typ string) (Template, bool) {
	i := slices.IndexFunc(ts, func(t Template) bool { return t.Type == typ })
	if i < 0 {
		return Template{}, false
	}
	return ts[i], true
}

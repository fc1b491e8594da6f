package hunt

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/detect/sigma"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Match is one output line: a detection rule that matched one event, or a
// correlation rule that fired over several.
type Match struct {
	RuleID    string    `json:"rule_id"`
	RuleTitle string    `json:"rule_title"`
	Level     string    `json:"level"`
	Tags      []string  `json:"tags"`
	Timestamp time.Time `json:"timestamp"` // the event's time; a correlation's last event
	Computer  string    `json:"computer"`
	Channel   string    `json:"channel"`
	EventID   string    `json:"event_id"`
	RecordID  string    `json:"record_id"`
	File      string    `json:"file"`
	// Fields holds the event's values of the fields the rule's detection
	// names (those present in the event).
	Fields      map[string]any `json:"matched_fields,omitempty"`
	Correlation *Correlation   `json:"correlation,omitempty"`

	seq int // the event's position in its file, for a stable order
}

// Correlation describes a correlation alert: its group, its measure and
// the events that made it.
type Correlation struct {
	Type    string            `json:"type"`
	GroupBy map[string]string `json:"group_by"`
	Value   float64           `json:"value"`
	Start   time.Time         `json:"start"`
	End     time.Time         `json:"end"`
	// Events lists the contributing events in time order, at most
	// maxEventRefs of them; EventCount is how many there were.
	Events     []EventRef `json:"events"`
	EventCount int        `json:"event_count"`
}

// EventRef names one event in its file.
type EventRef struct {
	File      string    `json:"file"`
	RecordID  string    `json:"record_id"`
	Timestamp time.Time `json:"timestamp"`
}

// maxEventRefs caps the contributing events listed per correlation alert.
const maxEventRefs = 1000

// csvHeader is the CSV output's header row.
func csvHeader() []string {
	return []string{"rule_id", "rule_title", "level", "tags", "timestamp", "computer", "channel", "event_id", "record_id", "file", "matched_fields", "correlation"}
}

// sortTimeline orders matches by time, then file, position in the file and
// rule, so the output is the same whatever the number of workers.
func sortTimeline(ms []Match) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := &ms[i], &ms[j]
		if !a.Timestamp.Equal(b.Timestamp) {
			return a.Timestamp.Before(b.Timestamp)
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.seq != b.seq {
			return a.seq < b.seq
		}
		return a.RuleID < b.RuleID
	})
}

// writeMatches writes ms in format ("jsonl" or "csv") to w.
func writeMatches(w io.Writer, format string, ms []Match) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	switch format {
	case "csv":
		cw := csv.NewWriter(bw)
		if err := cw.Write(csvHeader()); err != nil {
			return err
		}
		for i := range ms {
			m := &ms[i]
			fields, corr := "", ""
			if len(m.Fields) > 0 {
				b, err := json.Marshal(m.Fields)
				if err != nil {
					return fmt.Errorf("encode matched fields of %s: %w", m.RuleID, err)
				}
				fields = string(b)
			}
			if m.Correlation != nil {
				b, err := json.Marshal(m.Correlation)
				if err != nil {
					return fmt.Errorf("encode correlation %s: %w", m.RuleID, err)
				}
				corr = string(b)
			}
			rec := []string{m.RuleID, m.RuleTitle, m.Level, strings.Join(m.Tags, ";"), m.Timestamp.UTC().Format(time.RFC3339Nano),
				m.Computer, m.Channel, m.EventID, m.RecordID, m.File, fields, corr}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	default:
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for i := range ms {
			if err := enc.Encode(&ms[i]); err != nil {
				return fmt.Errorf("encode match of %s: %w", ms[i].RuleID, err)
			}
		}
	}
	return bw.Flush()
}

// newMatch fills the rule's side of a match.
func newMatch(r *sigma.Rule) Match {
	id := r.ID
	if id == "" {
		id = r.Name
	}
	level := strings.ToLower(r.Level)
	if level == "" {
		level = "informational"
	}
	tags := r.Tags
	if tags == nil {
		tags = []string{}
	}
	return Match{RuleID: id, RuleTitle: r.Title, Level: level, Tags: tags}
}

// first returns the text of the first of names present in e.
func first(e sigma.Event, names ...string) string {
	for _, n := range names {
		if v, ok := e.Get(n); ok && v != nil {
			if s := tansa.FieldText(v); s != "" {
				return s
			}
		}
	}
	return ""
}

// RuleCount is one line of the top-rules table.
type RuleCount struct {
	RuleID, Title, Level string
	Count                int
}

// printSummary writes s for a person on w.
func printSummary(w io.Writer, s Summary) {
	secs := max(s.Elapsed.Seconds(), 0.001)
	fmt.Fprintf(w, "\nhunt summary\n")
	fmt.Fprintf(w, "  rules:    %d detection, %d correlation; %d files failed to parse, %d rules failed to compile, %d for other log sources\n",
		s.Rules, s.Correlations, s.ParseFailures, s.CompileFailures, s.NotApplicable)
	fmt.Fprintf(w, "  input:    %d files (%.1f MB), %d skipped, %d unreadable; %d events, %d records not parsed\n",
		s.Files, float64(s.Bytes)/1e6, s.Skipped, s.FileErrors, s.Events, s.Unparsed)
	var parts []string
	names := levelNames()
	for i := len(names) - 1; i >= 0; i-- {
		parts = append(parts, fmt.Sprintf("%s %d", names[i], s.Matches[names[i]]))
	}
	fmt.Fprintf(w, "  matches:  %d (%s); %d correlation alerts\n", s.Total, strings.Join(parts, ", "), s.CorrelationAlerts)
	if len(s.Top) > 0 {
		fmt.Fprintf(w, "  top rules:\n")
		for _, rc := range s.Top {
			fmt.Fprintf(w, "    %7d  %-13s %s (%s)\n", rc.Count, rc.Level, rc.Title, rc.RuleID)
		}
	}
	fmt.Fprintf(w, "  elapsed:  %s, %.0f events/s, %.1f MB/s\n", s.Elapsed.Round(time.Millisecond), float64(s.Events)/secs, float64(s.Bytes)/1e6/secs)
}

package web

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// eventBody is an event as the API shows it: raw as text, fields as parsed.
type eventBody struct {
	ID         string         `json:"id"`
	TenantID   string         `json:"tenant_id"`
	Time       time.Time      `json:"@timestamp"`
	Received   time.Time      `json:"received"`
	Source     string         `json:"source"`
	Format     string         `json:"format"`
	ParseError string         `json:"parse_error,omitempty"`
	Raw        string         `json:"raw"`
	Fields     map[string]any `json:"fields"`
}

func toBody(ev tansa.Event) eventBody {
	return eventBody{ID: ev.ID, TenantID: ev.TenantID, Time: ev.Time, Received: ev.Received, Source: ev.Source,
		Format: ev.Format, ParseError: ev.ParseError, Raw: string(ev.Raw), Fields: ev.Fields}
}

// eventQuery reads a search from the query string: q (free text), since
// and until (RFC 3339), observable, parse_errors=true, tenant, and field
// filters as f.<field>=<value> (f.source.ip=203.0.113.5).
func eventQuery(r *http.Request) (events.Query, error) {
	p, err := paging(r)
	if err != nil {
		return events.Query{}, err
	}
	v := r.URL.Query()
	q := events.Query{Scope: askedScope(r), Text: v.Get("q"), Observable: v.Get("observable"), Page: p}
	if q.Since, q.Until, err = timeRange(v); err != nil {
		return q, err
	}
	if s := v.Get("parse_errors"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return q, tansa.Errorf(tansa.Invalid, "parse_errors: %q is not true or false", s)
		}
		q.ParseErrors = b
	}
	for key, vals := range v {
		if field, ok := strings.CutPrefix(key, "f."); ok && len(vals) > 0 {
			if q.Fields == nil {
				q.Fields = map[string]string{}
			}
			q.Fields[field] = vals[0]
		}
	}
	return q, nil
}

// eventCountLimit is how far a page of events counts its matches: past
// it the total is a lower bound ("total_relation": "gte"), so that a
// frequent word over millions of events answers as soon as its newest
// page is found. limit=0 (the count alone) and exact_total=true count
// every match.
const eventCountLimit = 10_000

// eventList is a page of events; TotalRelation is "eq" when Total is the
// exact count and "gte" when the count stopped at Total.
type eventList struct {
	listBody[eventBody]
	TotalRelation string `json:"total_relation"`
}

func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	q, err := eventQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	exact := false
	if v := r.URL.Query().Get("exact_total"); v != "" {
		if exact, err = strconv.ParseBool(v); err != nil {
			s.writeError(w, r, tansa.Errorf(tansa.Invalid, "exact_total: %q is not true or false", v))
			return
		}
	}
	if q.Limit > 0 && !exact {
		q.CountLimit = eventCountLimit
	}
	evs, total, err := s.deps.Events.Search(r.Context(), caller(r), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body := eventList{listBody: listBody[eventBody]{Items: make([]eventBody, len(evs)), Total: total, Limit: q.Limit, Offset: q.Offset}, TotalRelation: "eq"}
	for i, ev := range evs {
		body.Items[i] = toBody(ev)
	}
	if q.CountLimit > 0 && total > q.CountLimit {
		body.Total, body.TotalRelation = q.CountLimit, "gte"
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) apiEvent(w http.ResponseWriter, r *http.Request) {
	ev, err := s.deps.Events.Event(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toBody(ev))
}

func (s *Server) apiEventsHistogram(w http.ResponseWriter, r *http.Request) {
	q, err := eventQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n := 60
	if v := r.URL.Query().Get("buckets"); v != "" {
		if n, err = strconv.Atoi(v); err != nil {
			s.writeError(w, r, tansa.Errorf(tansa.Invalid, "buckets: %q is not a number", v))
			return
		}
	}
	bs, err := s.deps.Events.Histogram(r.Context(), caller(r), q, n)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"buckets": bs})
}

func (s *Server) apiEventsTop(w http.ResponseWriter, r *http.Request) {
	q, err := eventQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	field := r.URL.Query().Get("field")
	if field == "" {
		s.writeError(w, r, tansa.Errorf(tansa.Invalid, "field: required, e.g. field=source.ip"))
		return
	}
	top, err := s.deps.Events.Top(r.Context(), caller(r), q, field, 20)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"field": field, "values": top})
}

// maxExport bounds one export; narrow the query for more.
const maxExport = 100_000

// exportColumns are the CSV export's columns: the fields analysts filter
// on first, then the raw record.
var exportColumns = []string{"event.code", "host.name", "user.name", "source.ip", "destination.ip", "url.full", "dns.question.name", "process.command_line"}

func (s *Server) apiEventsExport(w http.ResponseWriter, r *http.Request) {
	q, err := eventQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "jsonl"
	}
	if format != "jsonl" && format != "csv" {
		s.writeError(w, r, tansa.Errorf(tansa.Invalid, "format: %q is not jsonl or csv", format))
		return
	}
	c := caller(r)
	q.Page = access.Page{Limit: 0}
	_, total, err := s.deps.Events.Search(r.Context(), c, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if total > maxExport {
		s.writeError(w, r, tansa.Errorf(tansa.TooLarge, "the query matches %d events; narrow it to at most %d to export", total, maxExport))
		return
	}
	tenant := ""
	if sc := c.Scope(); len(sc.Tenants) == 1 {
		tenant = sc.Tenants[0]
	}
	if err := s.deps.Access.Record(r.Context(), c, "events.export", "events", fmt.Sprintf("%s (%d events)", r.URL.RawQuery, total), tenant); err != nil {
		s.writeError(w, r, err)
		return
	}
	name := "tansa-events-" + time.Now().UTC().Format("20060102-150405") + "." + format
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	var cw *csv.Writer
	enc := json.NewEncoder(w)
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw = csv.NewWriter(w)
		_ = cw.Write(append(append([]string{"@timestamp", "tenant_id", "source", "format"}, exportColumns...), "raw"))
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	for q.Offset, q.Limit = 0, 1000; q.Offset < total; q.Offset += q.Limit {
		evs, _, err := s.deps.Events.Search(r.Context(), c, q)
		if err != nil {
			s.deps.Logger.Error("export events", "err", err)
			return // the response has started; the truncated file shows it
		}
		for _, ev := range evs {
			if cw == nil {
				_ = enc.Encode(toBody(ev))
				continue
			}
			row := []string{ev.Time.Format(time.RFC3339Nano), ev.TenantID, ev.Source, ev.Format}
			for _, col := range exportColumns {
				row = append(row, fmt.Sprint(valueOr(ev.Fields[col])))
			}
			_ = cw.Write(append(row, csvSafe(string(ev.Raw))))
		}
		if cw != nil {
			cw.Flush()
		}
	}
}

func valueOr(v any) any {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return csvSafe(s)
	}
	return v
}

// csvSafe defuses spreadsheet formulas: a log line is attacker-controlled
// text, and "=cmd|…" must not run when an analyst opens the export.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

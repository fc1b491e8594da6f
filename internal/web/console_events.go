package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// The console's Events page: a query box over the event store, a histogram
// of the matches over time, the most frequent values of the fields
// analysts pivot on, the matching events, and each event's raw and
// normalised views. Every query goes through events.Service, which keeps
// it inside the viewer's tenants.

// sideFields are the fields whose top values the side panel shows.
var sideFields = []string{"event.action", "event.outcome", "host.name", "user.name", "source.ip", "destination.ip"}

type eventsFilter struct {
	Q, Observable, Since, Until, Tenant string
	Fields                              map[string]string
}

type sideField struct {
	Field  string
	Values []events.FieldCount
}

type eventsPage struct {
	Filter    eventsFilter
	Items     []tansa.Event
	Pager     pager
	Histogram template.HTML
	Side      []sideField
	Export    string // the query string for the export links
	Default   bool   // the range was not given: the last 24 hours are shown
}

// eventsQueryOf reads the Events page's filters; times are in the viewer's
// time zone as datetime-local inputs give them, and without any the page
// shows the last 24 hours.
func eventsQueryOf(r *http.Request, loc *time.Location, now time.Time) (events.Query, eventsFilter, bool, error) {
	v := r.URL.Query()
	f := eventsFilter{Q: v.Get("q"), Observable: v.Get("observable"), Since: v.Get("since"), Until: v.Get("until"), Tenant: v.Get("tenant"), Fields: map[string]string{}}
	p, err := consolePaging(r)
	if err != nil {
		return events.Query{}, f, false, err
	}
	q := events.Query{Scope: askedScope(r), Text: f.Q, Observable: f.Observable, Page: p, Fields: map[string]string{}}
	for key, vals := range v {
		if field, ok := strings.CutPrefix(key, "f."); ok && len(vals) > 0 && vals[0] != "" {
			q.Fields[field], f.Fields[field] = vals[0], vals[0]
		}
	}
	if f.Since != "" {
		if q.Since, err = parseLocalTime("since", f.Since, loc); err != nil {
			return q, f, false, err
		}
	}
	if f.Until != "" {
		if q.Until, err = parseLocalTime("until", f.Until, loc); err != nil {
			return q, f, false, err
		}
	}
	def := f.Since == "" && f.Until == ""
	if def {
		q.Since = now.Add(-24 * time.Hour)
	}
	return q, f, def, nil
}

func (s *Server) pageEvents(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "events.title")
	q, f, def, err := eventsQueryOf(r, v.Loc, time.Now())
	if err != nil {
		v.Error = v.formError(err)
		v.Data = eventsPage{Filter: f}
		s.render(w, r, statusOf(tansa.KindOf(err)), "events", v)
		return
	}
	c := caller(r)
	q.CountLimit = eventCountLimit
	items, total, err := s.deps.Events.Search(r.Context(), c, q)
	if err != nil {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		v.Error = v.formError(err)
	}
	data := eventsPage{Filter: f, Items: items, Pager: newPager(r, q.Page, len(items), total), Default: def}
	if total > q.CountLimit {
		data.Pager.Total, data.Pager.More = q.CountLimit, true
	}
	if err == nil && total > 0 {
		hq := q
		if hq.Until.IsZero() {
			hq.Until = time.Now()
		}
		if !hq.Since.IsZero() {
			if bs, err := s.deps.Events.Histogram(r.Context(), c, hq, 48); err == nil {
				data.Histogram = histogramSVG(bs, v)
			}
		}
		for _, field := range sideFields {
			if vals, err := s.deps.Events.Top(r.Context(), c, q, field, 5); err == nil && len(vals) > 0 {
				data.Side = append(data.Side, sideField{Field: field, Values: vals})
			}
		}
	}
	ex := r.URL.Query()
	for _, k := range []string{"offset", "limit", "flash", "since", "until"} {
		ex.Del(k)
	}
	if !q.Since.IsZero() {
		ex.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		ex.Set("until", q.Until.UTC().Format(time.RFC3339))
	}
	data.Export = ex.Encode()
	v.Data = data
	s.render(w, r, http.StatusOK, "events", v)
}

// histogramSVG draws the histogram as inline SVG: server-rendered, no
// script, each bar titled with its time and count for screen readers and
// hover.
func histogramSVG(bs []events.Bucket, v *view) template.HTML {
	const width, height = 960, 80
	most := 0
	for _, b := range bs {
		most = max(most, b.Count)
	}
	if most == 0 || len(bs) == 0 {
		return ""
	}
	bw := float64(width) / float64(len(bs))
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="histogram" viewBox="0 0 %d %d" preserveAspectRatio="none" role="img" aria-label="%s">`,
		width, height, template.HTMLEscapeString(v.T("events.histogram")))
	for i, b := range bs {
		h := float64(height-2) * float64(b.Count) / float64(most)
		fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s — %d</title></rect>`,
			float64(i)*bw+0.5, float64(height)-h, max(bw-1, 0.5), h, template.HTMLEscapeString(v.When(b.Start)), b.Count)
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) // every interpolated string above is escaped
}

// summary is the one line the results table shows for an event.
func summary(ev tansa.Event) string {
	if m, ok := ev.Fields["message"].(string); ok && m != "" {
		return m
	}
	return string(ev.Raw)
}

// eventPage is one event's raw and normalised views.
type eventPage struct {
	Event  tansa.Event
	Fields []fieldRow
}

type fieldRow struct {
	Name, Value string
}

func (s *Server) pageEvent(w http.ResponseWriter, r *http.Request) {
	ev, err := s.deps.Events.Event(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := s.newView(r, "event.title")
	rows := make([]fieldRow, 0, len(ev.Fields))
	for name, val := range ev.Fields {
		rows = append(rows, fieldRow{Name: name, Value: fmt.Sprint(val)})
	}
	slices.SortFunc(rows, func(a, b fieldRow) int { return strings.Compare(a.Name, b.Name) })
	v.Data = eventPage{Event: ev, Fields: rows}
	s.render(w, r, http.StatusOK, "event", v)
}

// pivot returns the Events page's address filtered on field = value.
func pivot(field, value string) string {
	return "/events?" + url.Values{"f." + field: {value}}.Encode()
}

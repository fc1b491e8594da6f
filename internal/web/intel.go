package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/blocklist"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	intelsvc "github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// indicatorBody is an indicator as the API shows it.
type indicatorBody struct {
	ID          string               `json:"id"`
	SourceID    string               `json:"source_id,omitempty"`
	TenantID    string               `json:"tenant_id"`
	Type        intel.Type           `json:"type"`
	Value       string               `json:"value"`
	Name        string               `json:"name,omitempty"`
	Confidence  int                  `json:"confidence"`
	TLP         intel.TLP            `json:"tlp,omitempty"`
	Active      bool                 `json:"active"`
	ValidFrom   time.Time            `json:"valid_from,omitzero"`
	ValidUntil  time.Time            `json:"valid_until,omitzero"`
	Source      string               `json:"source,omitempty"`
	FirstSeen   time.Time            `json:"first_seen,omitzero"`
	LastSeen    time.Time            `json:"last_seen,omitzero"`
	Tags        []string             `json:"tags"`
	Techniques  []string             `json:"techniques,omitempty"`
	KillChain   []killChainBody      `json:"kill_chain,omitempty"`
	Context     indicatorContextBody `json:"context"`
	Relations   []relationBody       `json:"relations,omitempty"`
	Sightings   []sightingBody       `json:"sightings,omitempty"`
	Revoked     bool                 `json:"revoked"`
	Allowlisted string               `json:"allowlisted,omitempty"`
	Created     time.Time            `json:"created"`
	Updated     time.Time            `json:"updated"`
}

type killChainBody struct {
	Chain string `json:"chain"`
	Phase string `json:"phase"`
}

// indicatorContextBody is the 5W1H of an indicator (intel.Context).
type indicatorContextBody struct {
	ThreatActors    []string `json:"threat_actors,omitempty"`
	Campaigns       []string `json:"campaigns,omitempty"`
	Malware         []string `json:"malware,omitempty"`
	Motives         []string `json:"motives,omitempty"`
	Sectors         []string `json:"sectors,omitempty"`
	Regions         []string `json:"regions,omitempty"`
	IntrusionRoutes []string `json:"intrusion_routes,omitempty"`
	Handling        string   `json:"handling,omitempty"`
	Description     string   `json:"description,omitempty"`
}

type relationBody struct {
	Kind       intel.RelationKind `json:"kind"`
	TargetType string             `json:"target_type"`
	TargetID   string             `json:"target_id,omitempty"`
	TargetName string             `json:"target_name,omitempty"`
}

type sightingBody struct {
	TenantID string    `json:"tenant_id,omitempty"`
	Where    string    `json:"where,omitempty"`
	When     time.Time `json:"when,omitzero"`
	Count    int       `json:"count,omitempty"`
	Ref      string    `json:"ref,omitempty"`
}

func toIndicatorBody(r intelsvc.Record, now time.Time) indicatorBody {
	in := r.Indicator
	b := indicatorBody{ID: r.ID, SourceID: in.ID, TenantID: in.TenantID, Type: in.Type, Value: in.Value, Name: in.Name,
		Confidence: in.Confidence, TLP: in.TLP, Active: in.Active(now), ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil,
		Source: in.Source, FirstSeen: in.FirstSeen, LastSeen: in.LastSeen, Tags: in.Tags, Techniques: in.Techniques,
		Context: indicatorContextBody(in.Context), Revoked: in.Revoked, Allowlisted: in.Allowlisted,
		Created: r.Created, Updated: r.Updated}
	if b.Tags == nil {
		b.Tags = []string{}
	}
	for _, k := range in.KillChain {
		b.KillChain = append(b.KillChain, killChainBody(k))
	}
	for _, rel := range in.Relations {
		b.Relations = append(b.Relations, relationBody(rel))
	}
	for _, s := range in.Sightings {
		b.Sightings = append(b.Sightings, sightingBody(s))
	}
	return b
}

// importBody is one entry of the import log.
type importBody struct {
	ID       string          `json:"id"`
	TenantID string          `json:"tenant_id"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`
	Source   string          `json:"source"`
	Result   importer.Result `json:"result"`
}

// completeResult makes the lists of a result empty rather than null, so
// clients can iterate them without a check.
func completeResult(r *importer.Result) {
	if r.Rejected == nil {
		r.Rejected = []importer.Rejection{}
	}
	if r.Skipped == nil {
		r.Skipped = []importer.Rejection{}
	}
}

// apiIntelImport imports the request body, a feed document, into the
// tenant named by ?tenant= (or the caller's own): ?format= picks the
// format (auto by default) and ?source= names it in the import log.
func (s *Server) apiIntelImport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := importer.ParseFormat(q.Get("format"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if r.ContentLength > importer.MaxInput {
		s.writeError(w, r, tansa.Errorf(tansa.TooLarge, "request body: %d bytes exceeds the %d-byte import limit", r.ContentLength, importer.MaxInput))
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, importer.MaxInput))
	if err != nil {
		var max *http.MaxBytesError
		if errors.As(err, &max) {
			s.writeError(w, r, tansa.Errorf(tansa.TooLarge, "request body: larger than the %d-byte import limit", max.Limit))
			return
		}
		s.writeError(w, r, tansa.Errorf(tansa.Invalid, "request body: %v", err))
		return
	}
	res, err := s.deps.Intel.Import(r.Context(), caller(r), data, intelsvc.ImportInput{Format: f, TenantID: q.Get("tenant"), Source: q.Get("source")})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	completeResult(res)
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) apiIntelIndicators(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := r.URL.Query()
	q := intelsvc.Query{Scope: askedScope(r), Text: v.Get("q"), Page: p}
	if t := v.Get("type"); t != "" {
		if q.Type, err = intel.ParseType(t); err != nil {
			s.writeError(w, r, tansa.Errorf(tansa.Invalid, "type: %w", err))
			return
		}
	}
	recs, total, err := s.deps.Intel.Indicators(r.Context(), caller(r), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := time.Now()
	items := make([]indicatorBody, len(recs))
	for i, rec := range recs {
		items[i] = toIndicatorBody(rec, now)
	}
	writeList(w, items, total, p)
}

func (s *Server) apiIntelIndicator(w http.ResponseWriter, r *http.Request) {
	rec, err := s.deps.Intel.Indicator(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toIndicatorBody(rec, time.Now()))
}

func (s *Server) apiIntelImports(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ims, total, err := s.deps.Intel.Imports(r.Context(), caller(r), intelsvc.ImportQuery{Scope: askedScope(r), Page: p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items := make([]importBody, len(ims))
	for i, im := range ims {
		completeResult(&im.Result)
		items[i] = importBody(im)
	}
	writeList(w, items, total, p)
}

// apiIntelEDL serves a block list of one kind (ip, domain or url) as an
// External Dynamic List: text, one entry per line.
func (s *Server) apiIntelEDL(w http.ResponseWriter, r *http.Request) {
	k := blocklist.Kind(r.PathValue("kind"))
	if k != blocklist.KindIP && k != blocklist.KindDomain && k != blocklist.KindURL {
		s.writeError(w, r, tansa.Errorf(tansa.Invalid, "kind: %q must be ip, domain or url", r.PathValue("kind")))
		return
	}
	l, err := s.deps.Intel.BlockList(r.Context(), caller(r), r.URL.Query().Get("tenant"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b bytes.Buffer
	if err := l.WriteEDL(&b, k); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeText(w, "text/plain; charset=utf-8", b.Bytes())
}

// apiIntelRPZ serves the block list as a DNS response policy zone.
func (s *Server) apiIntelRPZ(w http.ResponseWriter, r *http.Request) {
	l, err := s.deps.Intel.BlockList(r.Context(), caller(r), r.URL.Query().Get("tenant"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b bytes.Buffer
	if _, err := l.WriteRPZ(&b, s.deps.Intel.RPZ()); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeText(w, "text/dns", b.Bytes())
}

func writeText(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// exportLimit bounds the indicators one export carries.
const exportLimit = 100000

// apiIntelExport writes the indicators the caller may see (filtered as
// the indicator search is) as a STIX 2.1 bundle or a MISP event.
func (s *Server) apiIntelExport(w http.ResponseWriter, r *http.Request) {
	format := r.PathValue("format")
	if format != "stix" && format != "misp" {
		s.writeError(w, r, tansa.Errorf(tansa.Invalid, "format: %q must be stix or misp", format))
		return
	}
	v := r.URL.Query()
	q := intelsvc.Query{Scope: askedScope(r), Text: v.Get("q")}
	if t := v.Get("type"); t != "" {
		var err error
		if q.Type, err = intel.ParseType(t); err != nil {
			s.writeError(w, r, tansa.Errorf(tansa.Invalid, "type: %w", err))
			return
		}
	}
	var inds []intel.Indicator
	for q.Page = (access.Page{Limit: 500}); ; q.Offset += q.Limit {
		recs, total, err := s.deps.Intel.Indicators(r.Context(), caller(r), q)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, rec := range recs {
			inds = append(inds, rec.Indicator)
		}
		if q.Offset+q.Limit >= total || len(inds) >= exportLimit {
			break
		}
	}
	var b bytes.Buffer
	var err error
	ct, name := "application/stix+json;version=2.1", "tansa-intel.stix.json"
	if format == "stix" {
		err = importer.ExportSTIX(&b, inds, time.Now().UTC())
	} else {
		ct, name = "application/json", "tansa-intel.misp.json"
		err = importer.ExportMISP(&b, inds, "Tansa export", time.Now().UTC())
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	writeText(w, ct, b.Bytes())
}

package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/intel/taxii"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// The TAXII 2.1 server (issue #5): read-only, one API root (/taxii2/api/),
// one collection per tenant the caller may reach (the collection's ID is
// the tenant's), holding what that tenant shares — its own indicators and
// the global ones that are not TLP:RED — as STIX 2.1. Partners and group
// companies pull it with an API token (Bearer, or HTTP Basic with the
// token as password).

const (
	taxiiRoot     = "/taxii2/api/"
	taxiiMaxLimit = 1000
	taxiiDefLimit = 100
)

// writeTAXII writes v as a TAXII resource.
func writeTAXII(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", taxii.MediaType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// taxiiError writes err as TAXII's error message resource.
func (s *Server) taxiiError(w http.ResponseWriter, r *http.Request, err error) {
	k := tansa.KindOf(err)
	if k == tansa.Internal {
		s.deps.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if k == tansa.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="tansa", Bearer realm="tansa"`)
	}
	st := statusOf(k)
	writeTAXII(w, st, taxii.Error{Title: http.StatusText(st), Description: tansa.MessageOf(err), HTTPStatus: strconv.Itoa(st)})
}

// taxiiAccept refuses a request whose Accept header admits no TAXII 2.1
// answer (406, as the specification asks).
func (s *Server) taxiiAccept(w http.ResponseWriter, r *http.Request) bool {
	if taxii.Accepts(r.Header.Get("Accept")) {
		return true
	}
	writeTAXII(w, http.StatusNotAcceptable, taxii.Error{Title: "Not Acceptable",
		Description: "this server answers " + taxii.MediaType, HTTPStatus: "406"})
	return false
}

func (s *Server) taxiiDiscovery(w http.ResponseWriter, r *http.Request) {
	if !s.taxiiAccept(w, r) {
		return
	}
	writeTAXII(w, http.StatusOK, taxii.Discovery{Title: "Tansa", Description: "Threat intelligence shared by Tansa's tenants.",
		Default: taxiiRoot, APIRoots: []string{taxiiRoot}})
}

func (s *Server) taxiiAPIRoot(w http.ResponseWriter, r *http.Request) {
	if !s.taxiiAccept(w, r) {
		return
	}
	writeTAXII(w, http.StatusOK, taxii.APIRoot{Title: "Tansa intelligence", Description: "One read-only collection per tenant.",
		Versions: []string{taxii.MediaType}, MaxContentLength: importer.MaxInput})
}

func toCollection(t tansa.Tenant) taxii.Collection {
	return taxii.Collection{ID: t.ID, Title: t.Name, Description: "Indicators " + t.Name + " shares: its own and the global ones it may pass on.",
		CanRead: true, MediaTypes: []string{taxii.STIXMediaType}}
}

func (s *Server) taxiiCollections(w http.ResponseWriter, r *http.Request) {
	if !s.taxiiAccept(w, r) {
		return
	}
	var out taxii.Collections
	for p := (access.Page{Limit: 500}); ; p.Offset += p.Limit {
		ts, total, err := s.deps.Access.Tenants(r.Context(), caller(r), access.TenantQuery{Page: p})
		if err != nil {
			s.taxiiError(w, r, err)
			return
		}
		for _, t := range ts {
			out.Collections = append(out.Collections, toCollection(t))
		}
		if p.Offset+p.Limit >= total {
			break
		}
	}
	writeTAXII(w, http.StatusOK, out)
}

func (s *Server) taxiiCollection(w http.ResponseWriter, r *http.Request) {
	if !s.taxiiAccept(w, r) {
		return
	}
	t, err := s.deps.Access.Tenant(r.Context(), caller(r), r.PathValue("id"))
	if err != nil || !caller(r).Can(access.PermIntelRead) {
		s.taxiiError(w, r, tansa.Errorf(tansa.NotFound, "collection %q not found", r.PathValue("id")))
		return
	}
	writeTAXII(w, http.StatusOK, toCollection(t))
}

// taxiiObject is one STIX object of a page with when it was added.
type taxiiObject struct {
	raw     json.RawMessage
	id      string
	version string
	added   time.Time
}

// taxiiPage reads the request's paging (added_after, limit, next) and
// returns the objects of one page, whether there are more, the next
// cursor and the page's first and last dates added. Every object an
// indicator exports (the indicator, its malware, campaign and relationship
// objects) carries the indicator's date added, so limit counts indicators.
func (s *Server) taxiiPage(r *http.Request) (objs []taxiiObject, more bool, next string, first, last time.Time, err error) {
	q := r.URL.Query()
	limit := taxiiDefLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, false, "", first, last, tansa.Errorf(tansa.Invalid, "limit: %q is not a positive number", v)
		}
		limit = min(n, taxiiMaxLimit)
	}
	var after time.Time
	afterID := ""
	if v := q.Get("added_after"); v != "" {
		if after, err = taxii.ParseTime(v); err != nil {
			return nil, false, "", first, last, tansa.Errorf(tansa.Invalid, "added_after: %v", err)
		}
		// Stored times have microseconds: a later instant in the same
		// microsecond was added after.
		after = after.Truncate(time.Microsecond)
		afterID = "~" // after every ID: IDs are UUIDs
	}
	if v := q.Get("next"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		micros, id, ok := strings.Cut(string(b), "|")
		n, perr := strconv.ParseInt(micros, 10, 64)
		if err != nil || !ok || perr != nil || id == "" {
			return nil, false, "", first, last, tansa.Errorf(tansa.Invalid, "next: %q is not a cursor this server gave", v)
		}
		after, afterID = time.UnixMicro(n).UTC(), id
	}
	recs, err := s.deps.Intel.Shared(r.Context(), caller(r), r.PathValue("id"), after, afterID, limit+1)
	if err != nil {
		return nil, false, "", first, last, err
	}
	if len(recs) > limit {
		recs, more = recs[:limit], true
	}
	now := time.Now().UTC()
	seen := map[string]bool{}
	for _, rec := range recs {
		var b bytes.Buffer
		ind := rec.Indicator
		ind.Sightings = nil
		if err := importer.ExportSTIX(&b, []intel.Indicator{ind}, now); err != nil {
			continue // a value STIX cannot carry; the rest of the page goes
		}
		var bundle struct {
			Objects []json.RawMessage `json:"objects"`
		}
		if err := json.Unmarshal(b.Bytes(), &bundle); err != nil {
			return nil, false, "", first, last, err
		}
		for _, o := range bundle.Objects {
			var head struct {
				ID       string `json:"id"`
				Modified string `json:"modified"`
				Created  string `json:"created"`
			}
			_ = json.Unmarshal(o, &head)
			if seen[head.ID] {
				continue
			}
			seen[head.ID] = true
			v := head.Modified
			if v == "" {
				v = head.Created
			}
			objs = append(objs, taxiiObject{raw: o, id: head.ID, version: v, added: rec.Updated})
		}
	}
	if len(recs) > 0 {
		first, last = recs[0].Updated, recs[len(recs)-1].Updated
		if more {
			l := recs[len(recs)-1]
			next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(l.Updated.UnixMicro(), 10) + "|" + l.ID))
		}
	}
	return objs, more, next, first, last, nil
}

func setAddedHeaders(w http.ResponseWriter, first, last time.Time) {
	if !first.IsZero() {
		w.Header().Set("X-TAXII-Date-Added-First", taxii.FormatTime(first))
		w.Header().Set("X-TAXII-Date-Added-Last", taxii.FormatTime(last))
	}
}

func (s *Server) taxiiObjects(w http.ResponseWriter, r *http.Request) {
	if !s.taxiiAccept(w, r) {
		return
	}
	objs, more, next, first, last, err := s.taxiiPage(r)
	if err != nil {
		s.taxiiError(w, r, err)
		return
	}
	env := taxii.Envelope{More: more, Next: next}
	for _, o := range objs {
		env.Objects = append(env.Objects, o.raw)
	}
	setAddedHeaders(w, first, last)
	writeTAXII(w, http.StatusOK, env)
}

func (s *Server) taxiiManifest(w http.ResponseWriter, r *http.Request) {
	if !s.taxiiAccept(w, r) {
		return
	}
	objs, more, _, first, last, err := s.taxiiPage(r)
	if err != nil {
		s.taxiiError(w, r, err)
		return
	}
	m := taxii.Manifest{More: more}
	for _, o := range objs {
		m.Objects = append(m.Objects, taxii.ManifestRecord{ID: o.id, DateAdded: taxii.Timestamp{Time: o.added}, Version: o.version,
			MediaType: taxii.STIXMediaType})
	}
	setAddedHeaders(w, first, last)
	writeTAXII(w, http.StatusOK, m)
}

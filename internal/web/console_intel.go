package web

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/feeds"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/intel/retro"
	intelsvc "github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// The console's threat-intelligence area (issue #5): a search over the
// indicators the viewer may see, each indicator's page (its 5W1H context,
// relations, sightings over time, the stored events hunts found, and a
// "hunt now" button), the import page with the report of recent imports,
// the feed sources, and the retro-hunt jobs. Everything goes through the
// intel, retro and feeds services, which keep it inside the viewer's
// tenants.

type intelFilter struct {
	Q, Type, Tenant string
}

type intelSearchPage struct {
	Filter intelFilter
	Types  []intel.Type
	Items  []indicatorBody
	Pager  pager
	Export string
}

func (s *Server) pageIntel(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "intel.title")
	q := r.URL.Query()
	f := intelFilter{Q: q.Get("q"), Type: q.Get("type"), Tenant: q.Get("tenant")}
	data := intelSearchPage{Filter: f, Types: intel.Types()}
	p, err := consolePaging(r)
	iq := intelsvc.Query{Scope: askedScope(r), Text: f.Q, Page: p}
	if err == nil && f.Type != "" {
		iq.Type, err = intel.ParseType(f.Type)
	}
	if err != nil {
		v.Error = v.formError(err)
		v.Data = data
		s.render(w, r, http.StatusBadRequest, "intel", v)
		return
	}
	recs, total, err := s.deps.Intel.Indicators(r.Context(), caller(r), iq)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	now := time.Now()
	for _, rec := range recs {
		data.Items = append(data.Items, toIndicatorBody(rec, now))
	}
	data.Pager = newPager(r, p, len(recs), total)
	ex := url.Values{}
	for k, val := range map[string]string{"q": f.Q, "type": f.Type, "tenant": f.Tenant} {
		if val != "" {
			ex.Set(k, val)
		}
	}
	data.Export = ex.Encode()
	v.Data = data
	s.render(w, r, http.StatusOK, "intel", v)
}

// sightingRow is one sighting on the indicator page's timeline.
type sightingRow struct {
	intel.Sighting
	Event bool // Ref names a stored event
}

type indicatorPage struct {
	Ind       indicatorBody
	Sightings []sightingRow
	Hits      []hitBody
	HitsTotal int
	Hunts     []retro.Job
}

func (s *Server) pageIndicator(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "intel.indicator")
	c := caller(r)
	id := r.PathValue("id")
	rec, err := s.deps.Intel.Indicator(r.Context(), c, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	data := indicatorPage{Ind: toIndicatorBody(rec, time.Now())}
	for _, sg := range rec.Indicator.Sightings {
		data.Sightings = append(data.Sightings, sightingRow{Sighting: sg, Event: sg.Ref != "" && !strings.Contains(sg.Ref, ":")})
	}
	slices.SortFunc(data.Sightings, func(a, b sightingRow) int { return b.When.Compare(a.When) })
	hits, n, err := s.deps.Hunts.IndicatorHits(r.Context(), c, id, access.Page{Limit: 50})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	data.Hits, data.HitsTotal = toHitBodies(hits), n
	if data.Hunts, _, err = s.deps.Hunts.Hunts(r.Context(), c, "", retro.Query{IndicatorID: id, Page: access.Page{Limit: 10}}); err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Title = rec.Indicator.Value
	v.Data = data
	s.render(w, r, http.StatusOK, "indicator", v)
}

// pageHuntIndicator starts a hunt for one indicator and shows the hunts.
func (s *Server) pageHuntIndicator(w http.ResponseWriter, r *http.Request) {
	jobs, err := s.deps.Hunts.HuntIndicator(r.Context(), caller(r), r.PathValue("id"), r.PostFormValue("tenant"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	target := "/intel/hunts"
	if len(jobs) == 1 {
		target += "/" + url.PathEscape(jobs[0].ID)
	}
	redirect(w, r, target, "flash.hunt_started")
}

type intelImportPage struct {
	Formats []importer.Format
	Result  *importer.Result
	Source  string
	Imports []importBody
	Pager   pager
}

// intelImportData fills the import page's log of recent imports.
func (s *Server) intelImportData(r *http.Request, data *intelImportPage) error {
	p, err := consolePaging(r)
	if err != nil {
		return err
	}
	ims, total, err := s.deps.Intel.Imports(r.Context(), caller(r), intelsvc.ImportQuery{Scope: askedScope(r), Page: p})
	if err != nil {
		return err
	}
	for _, im := range ims {
		completeResult(&im.Result)
		data.Imports = append(data.Imports, importBody(im))
	}
	data.Pager = newPager(r, p, len(ims), total)
	data.Formats = []importer.Format{importer.FormatAuto, importer.FormatSTIX, importer.FormatMISP, importer.FormatCSV, importer.FormatText}
	return nil
}

func (s *Server) pageIntelImport(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "intel.import")
	var data intelImportPage
	if err := s.intelImportData(r, &data); err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Data = data
	s.render(w, r, http.StatusOK, "intel_import", v)
}

// pageIntelImportPost imports an uploaded file (multipart field "file") or
// pasted text (field "text") and shows the report.
func (s *Server) pageIntelImportPost(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "intel.import")
	var data intelImportPage
	var doc []byte
	source := "console"
	r.Body = http.MaxBytesReader(w, r.Body, importer.MaxInput+1<<20)
	err := r.ParseMultipartForm(32 << 20)
	if errors.Is(err, http.ErrNotMultipart) {
		err = r.ParseForm()
	}
	if err == nil {
		if file, hdr, ferr := r.FormFile("file"); ferr == nil {
			defer file.Close()
			source = hdr.Filename
			doc, err = io.ReadAll(io.LimitReader(file, importer.MaxInput+1))
		} else {
			doc = []byte(r.PostFormValue("text"))
		}
	}
	var res *importer.Result
	if err != nil {
		err = tansa.Errorf(tansa.TooLarge, "upload: larger than the %d-byte import limit or unreadable", importer.MaxInput)
	} else if len(strings.TrimSpace(string(doc))) == 0 {
		err = tansa.Errorf(tansa.Invalid, "file: choose a file or paste indicators")
	} else {
		var f importer.Format
		if f, err = importer.ParseFormat(r.PostFormValue("format")); err == nil {
			res, err = s.deps.Intel.Import(r.Context(), caller(r), doc, intelsvc.ImportInput{Format: f, TenantID: r.PostFormValue("tenant"), Source: source})
		}
	}
	status := http.StatusOK
	if err != nil {
		if !formFailure(err) {
			s.pageError(w, r, err)
			return
		}
		v.Error, status = v.formError(err), statusOf(tansa.KindOf(err))
	} else {
		completeResult(res)
		data.Result, data.Source = res, source
	}
	if err := s.intelImportData(r, &data); err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Data = data
	s.render(w, r, status, "intel_import", v)
}

type intelFeedsPage struct {
	Kinds []string
	Items []feedBody
	Pager pager
	Form  struct{ Name, Kind, Source, Format, Interval, Tenant string }
}

func (s *Server) intelFeedsData(r *http.Request, data *intelFeedsPage) error {
	p, err := consolePaging(r)
	if err != nil {
		return err
	}
	data.Kinds = []string{string(feeds.KindTAXII), string(feeds.KindURL), string(feeds.KindFile)}
	fs, total, err := s.deps.Feeds.Feeds(r.Context(), caller(r), r.URL.Query().Get("tenant"), feeds.Query{Page: p})
	if err != nil {
		return err
	}
	for _, f := range fs {
		data.Items = append(data.Items, toFeedBody(f))
	}
	data.Pager = newPager(r, p, len(fs), total)
	return nil
}

func (s *Server) pageIntelFeeds(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "intel.feeds")
	var data intelFeedsPage
	data.Form.Interval, data.Form.Kind = "1h", "url"
	if err := s.intelFeedsData(r, &data); err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Data = data
	s.render(w, r, http.StatusOK, "intel_feeds", v)
}

func (s *Server) pageIntelFeedsPost(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "intel.feeds")
	var data intelFeedsPage
	fm := &data.Form
	fm.Name, fm.Kind, fm.Source = r.PostFormValue("name"), r.PostFormValue("kind"), r.PostFormValue("source")
	fm.Format, fm.Interval, fm.Tenant = r.PostFormValue("format"), r.PostFormValue("interval"), r.PostFormValue("tenant_id")
	kind, format, secret := feeds.Kind(fm.Kind), importer.Format(fm.Format), r.PostFormValue("secret")
	in := feeds.Input{Name: &fm.Name, Kind: &kind, Source: &fm.Source, Interval: &fm.Interval}
	if fm.Format != "" {
		in.Format = &format
	}
	if secret != "" {
		in.Secret = &secret
	}
	if fm.Tenant != "" {
		in.TenantID = &fm.Tenant
	}
	_, err := s.deps.Feeds.Create(r.Context(), caller(r), in)
	if err == nil {
		redirect(w, r, "/intel/feeds", "flash.feed_created")
		return
	}
	if !formFailure(err) {
		s.pageError(w, r, err)
		return
	}
	v.Error = v.formError(err)
	if err := s.intelFeedsData(r, &data); err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Data = data
	s.render(w, r, statusOf(tansa.KindOf(err)), "intel_feeds", v)
}

// pageIntelFeedAction pulls ("pull") or removes ("delete") one feed.
func (s *Server) pageIntelFeedAction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var err error
	flash := "flash.feed_pulled"
	switch r.PostFormValue("action") {
	case "pull":
		_, err = s.deps.Feeds.PullNow(r.Context(), caller(r), id)
	case "delete":
		err, flash = s.deps.Feeds.Delete(r.Context(), caller(r), id), "flash.feed_deleted"
	default:
		err = tansa.Errorf(tansa.Invalid, "action: pull or delete")
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	redirect(w, r, "/intel/feeds", flash)
}

type huntsPage struct {
	Items []retro.Job
	Pager pager
}

func (s *Server) pageHunts(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "intel.hunts")
	p, err := consolePaging(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	js, total, err := s.deps.Hunts.Hunts(r.Context(), caller(r), r.URL.Query().Get("tenant"), retro.Query{Page: p})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Data = huntsPage{Items: js, Pager: newPager(r, p, len(js), total)}
	s.render(w, r, http.StatusOK, "intel_hunts", v)
}

type huntPage struct {
	Job     retro.Job
	Percent int
	Hits    []hitBody
	Pager   pager
}

func (s *Server) pageHunt(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "intel.hunt")
	id := r.PathValue("id")
	j, err := s.deps.Hunts.Hunt(r.Context(), caller(r), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	p, err := consolePaging(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	hs, total, err := s.deps.Hunts.Hits(r.Context(), caller(r), id, p)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	data := huntPage{Job: j, Hits: toHitBodies(hs), Pager: newPager(r, p, len(hs), total)}
	if j.Total > 0 {
		data.Percent = j.Done * 100 / j.Total
	}
	v.Data = data
	s.render(w, r, http.StatusOK, "intel_hunt", v)
}

package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/fleet"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// The console's Endpoints area: coverage and the endpoint list, one
// endpoint with its sweeps and findings (and their shared review), the
// diff between two sweeps, prevalence (rarest first, one click from "1 of
// N" to the endpoints), and scan packages and campaigns. Every view goes
// through fleet.Service with the viewer as caller.

type endpointsPage struct {
	Coverage fleet.Coverage
	Items    []fleet.Asset
	Pager    pager
	Q        string
	Swept    string
	Days     int
	Tenant   string
	Artifact *fleet.Prevalence
	Key      fleetKeyBody
	Findings []fleet.Finding
}

func (s *Server) pageEndpoints(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "endpoints.title")
	p, err := consolePaging(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	q, days, err := assetQueryOf(r, p)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	c := caller(r)
	d := endpointsPage{Q: q.Text, Swept: q.Swept, Days: days, Tenant: r.URL.Query().Get("tenant"), Key: s.fleetKey()}
	if q.Artifact != "" {
		a, n, err := s.deps.Fleet.Artifact(r.Context(), c, q.Artifact)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		d.Artifact = &fleet.Prevalence{Artifact: a, ID: q.Artifact, Assets: n}
	}
	if d.Coverage, err = s.deps.Fleet.Coverage(r.Context(), c, askedScope(r), days); err != nil {
		s.pageError(w, r, err)
		return
	}
	var total int
	if d.Items, total, err = s.deps.Fleet.Assets(r.Context(), c, q); err != nil {
		s.pageError(w, r, err)
		return
	}
	d.Pager = newPager(r, p, len(d.Items), total)
	if d.Findings, _, err = s.deps.Fleet.Findings(r.Context(), c, fleet.FindingQuery{Scope: askedScope(r), MinScore: 40, Page: access.Page{Limit: 10}}); err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Data = d
	s.render(w, r, http.StatusOK, "endpoints", v)
}

type findingView struct {
	fleet.Finding
	Reviews []fleet.Review
}

type endpointPage struct {
	Asset    fleet.Asset
	Sweeps   []fleet.Sweep
	Findings []findingView
	Pager    pager
}

func (s *Server) pageEndpoint(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "endpoint.title")
	c := caller(r)
	a, err := s.deps.Fleet.Asset(r.Context(), c, r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	p, err := consolePaging(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	d := endpointPage{Asset: a}
	var total int
	if d.Sweeps, total, err = s.deps.Fleet.Sweeps(r.Context(), c, fleet.SweepQuery{Scope: access.Scope{Tenants: []string{a.TenantID}}, AssetID: a.ID, Page: p}); err != nil {
		s.pageError(w, r, err)
		return
	}
	d.Pager = newPager(r, p, len(d.Sweeps), total)
	fs, _, err := s.deps.Fleet.Findings(r.Context(), c, fleet.FindingQuery{Scope: access.Scope{Tenants: []string{a.TenantID}}, AssetID: a.ID, Page: access.Page{Limit: 200}})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	for _, f := range fs {
		rs, err := s.deps.Fleet.Reviews(r.Context(), c, f.TenantID, f.Key)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		d.Findings = append(d.Findings, findingView{Finding: f, Reviews: rs})
	}
	v.Title = a.Hostname + " · " + v.Title
	v.Data = d
	s.render(w, r, http.StatusOK, "endpoint", v)
}

func (s *Server) pageEndpointDiff(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "diff.title")
	q := r.URL.Query()
	d, err := s.deps.Fleet.Diff(r.Context(), caller(r), q.Get("from"), q.Get("to"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Data = d
	s.render(w, r, http.StatusOK, "endpoint_diff", v)
}

type prevalencePage struct {
	Kinds  []string
	Kind   string
	Q      string
	Items  []fleet.Prevalence
	Pager  pager
	Assets int
}

func (s *Server) pagePrevalence(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "prevalence.title")
	p, err := consolePaging(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	q := r.URL.Query()
	d := prevalencePage{Kinds: fleet.ArtifactKinds, Kind: q.Get("kind"), Q: q.Get("q")}
	if d.Kind == "" {
		d.Kind = fleet.KindAutorun
	}
	c := caller(r)
	var total int
	if d.Items, total, err = s.deps.Fleet.Prevalence(r.Context(), c, fleet.PrevalenceQuery{Scope: askedScope(r), Kind: d.Kind, Text: d.Q, Page: p}); err != nil {
		s.pageError(w, r, err)
		return
	}
	d.Pager = newPager(r, p, len(d.Items), total)
	cov, err := s.deps.Fleet.Coverage(r.Context(), c, askedScope(r), 3650)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	d.Assets = cov.Recent + cov.Stale
	v.Data = d
	s.render(w, r, http.StatusOK, "prevalence", v)
}

type packagesPage struct {
	Platforms []fleet.Platform
	Campaigns []fleet.CampaignProgress
	Pager     pager
	Key       fleetKeyBody
	Tenant    string
}

func (s *Server) pagePackages(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "packages.title")
	c := caller(r)
	p, err := consolePaging(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	d := packagesPage{Key: s.fleetKey(), Tenant: s.defaultTenant(r)}
	if d.Platforms, err = s.deps.Fleet.Platforms(c); err != nil {
		s.pageError(w, r, err)
		return
	}
	var total int
	if d.Campaigns, total, err = s.deps.Fleet.Campaigns(r.Context(), c, askedScope(r), p); err != nil {
		s.pageError(w, r, err)
		return
	}
	d.Pager = newPager(r, p, len(d.Campaigns), total)
	v.Data = d
	s.render(w, r, http.StatusOK, "packages", v)
}

// pageEndpointUpload takes an offline result file (tansa scan --out) from
// a multipart form and shows its sweep's endpoint.
func (s *Server) pageEndpointUpload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.deps.Fleet.MaxSealed()+64<<10)
	f, _, err := r.FormFile("file")
	if err != nil {
		s.pageError(w, r, tansa.Errorf(tansa.Invalid, "choose the result file (tansa scan --out) to upload"))
		return
	}
	defer f.Close()
	sw, err := s.deps.Fleet.Upload(r.Context(), caller(r), fleet.UploadInput{Sealed: f, Tenant: r.FormValue("tenant_id"), Source: "console"})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	redirect(w, r, "/endpoints/"+url.PathEscape(sw.AssetID), "flash.sweep_uploaded")
}

func (s *Server) pageEndpointReview(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.pageError(w, r, tansa.Errorf(tansa.Invalid, "the review form could not be read"))
		return
	}
	in := fleet.ReviewInput{Tenant: r.PostFormValue("tenant_id"), Key: r.PostFormValue("key"),
		Verdict: fleet.Verdict(r.PostFormValue("verdict")), Comment: r.PostFormValue("comment")}
	if _, err := s.deps.Fleet.AddReview(r.Context(), caller(r), in); err != nil {
		s.pageError(w, r, err)
		return
	}
	next := r.PostFormValue("next")
	if !strings.HasPrefix(next, "/endpoints") {
		next = "/endpoints"
	}
	redirect(w, r, safeNext(next), "flash.review_saved")
}

func (s *Server) pageCreateCampaign(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.pageError(w, r, tansa.Errorf(tansa.Invalid, "the campaign form could not be read"))
		return
	}
	in := fleet.CampaignInput{Tenant: r.PostFormValue("tenant_id"), Name: r.PostFormValue("name"), Interval: r.PostFormValue("interval")}
	if _, err := s.deps.Fleet.CreateCampaign(r.Context(), caller(r), in); err != nil {
		s.pageError(w, r, err)
		return
	}
	redirect(w, r, "/endpoints/packages", "flash.campaign_created")
}

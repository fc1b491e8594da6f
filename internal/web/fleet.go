package web

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/fleet"
	"github.com/tansa-sec/tansa/internal/scan"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// The API of endpoint sweeps (internal/fleet): the upload route scanners
// post to with an enrolment token, and the fleet views, review, campaigns
// and scan packages. The console pages are in console_fleet.go.

// apiSweepUpload receives one sealed result from `tansa scan`.
func (s *Server) apiSweepUpload(w http.ResponseWriter, r *http.Request) {
	s.uploadSweep(w, r, "")
}

// apiFleetUpload receives an offline --out file uploaded by a person.
func (s *Server) apiFleetUpload(w http.ResponseWriter, r *http.Request) {
	s.uploadSweep(w, r, r.URL.Query().Get("tenant"))
}

func (s *Server) uploadSweep(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.ContentLength > s.deps.Fleet.MaxSealed() {
		s.writeError(w, r, tansa.Errorf(tansa.TooLarge, "the upload of %d bytes exceeds %d bytes", r.ContentLength, s.deps.Fleet.MaxSealed()))
		return
	}
	src := "upload"
	if tenant != "" || !caller(r).Can(access.PermSweepUpload) {
		src = "console"
	}
	sw, err := s.deps.Fleet.Upload(r.Context(), caller(r), fleet.UploadInput{
		Sealed: http.MaxBytesReader(w, r.Body, s.deps.Fleet.MaxSealed()+1), IdempotencyKey: r.Header.Get("Idempotency-Key"),
		Tenant: tenant, Source: src})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sw)
}

// auditSweepRefusal records an upload refused before it reached the
// service — an unknown, revoked or expired token, or one of another role —
// so that a scanner knocking with a bad token shows in the audit log.
func (s *Server) auditSweepRefusal(r *http.Request, err error) {
	c := caller(r)
	actor := "token:unknown"
	if c.Kind != "" {
		actor = c.Kind + ":" + c.Name
	} else if h := r.Header.Get("Authorization"); h != "" {
		if secret, ok := tokenFromHeader(h); ok && len(secret) >= 12 {
			actor = "token:" + secret[:12] + "…"
		}
	}
	if rerr := s.deps.Fleet.RecordRefusal(r.Context(), actor, remoteAddr(r), c.TenantID, err); rerr != nil {
		s.deps.Logger.Warn("audit a refused sweep upload", "err", rerr)
	}
}

// fleetKeyBody is what scanners and people need of the server's keys.
type fleetKeyBody struct {
	Recipient    string `json:"recipient"`
	PackageKey   string `json:"package_key"`
	UploadPath   string `json:"upload_path"`
	ContentType  string `json:"content_type"`
	MaxBytes     int64  `json:"max_bytes"`
	ScanExample  string `json:"scan_example"`
	ScanExample2 string `json:"offline_example"`
}

func (s *Server) apiFleetKey(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.fleetKey())
}

func (s *Server) fleetKey() fleetKeyBody {
	rc := s.deps.Fleet.Recipient()
	return fleetKeyBody{Recipient: rc, PackageKey: s.deps.Fleet.SignerPublic(), UploadPath: "/api/v1/sweeps",
		ContentType: scan.ContentType, MaxBytes: s.deps.Fleet.MaxSealed(),
		ScanExample:  "tansa scan --server https://TANSA --recipient " + rc + " (token in TANSA_SCAN_TOKEN)",
		ScanExample2: "tansa scan --out HOST.tansa --recipient " + rc}
}

// fleetQueryInt reads an optional whole-number query parameter.
func fleetQueryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, tansa.Errorf(tansa.Invalid, "%s: %q must be a whole number from %d to %d", name, v, lo, hi)
	}
	return n, nil
}

// assetQueryOf reads the endpoint list's filters.
func assetQueryOf(r *http.Request, p access.Page) (fleet.AssetQuery, int, error) {
	v := r.URL.Query()
	days, err := fleetQueryInt(r, "days", 7, 1, 3650)
	if err != nil {
		return fleet.AssetQuery{}, 0, err
	}
	return fleet.AssetQuery{Scope: askedScope(r), Text: v.Get("q"), Swept: v.Get("swept"), Artifact: v.Get("artifact"),
		Since: time.Now().AddDate(0, 0, -days), Page: p}, days, nil
}

func (s *Server) apiFleetAssets(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, _, err := assetQueryOf(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, total, err := s.deps.Fleet.Assets(r.Context(), caller(r), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, total, p)
}

type registerBody struct {
	TenantID  string   `json:"tenant_id"`
	Hostnames []string `json:"hostnames"`
}

func (s *Server) apiFleetRegister(w http.ResponseWriter, r *http.Request) {
	var in registerBody
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.deps.Fleet.RegisterAssets(r.Context(), caller(r), in.TenantID, in.Hostnames)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"added": n})
}

func (s *Server) apiFleetAsset(w http.ResponseWriter, r *http.Request) {
	a, err := s.deps.Fleet.Asset(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) apiFleetSweeps(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := r.URL.Query()
	items, total, err := s.deps.Fleet.Sweeps(r.Context(), caller(r), fleet.SweepQuery{Scope: askedScope(r), AssetID: v.Get("asset"), Campaign: v.Get("campaign"), Page: p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, total, p)
}

type sweepBody struct {
	fleet.Sweep
	Result any `json:"result"`
}

func (s *Server) apiFleetSweep(w http.ResponseWriter, r *http.Request) {
	sw, res, err := s.deps.Fleet.SweepResult(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sweepBody{Sweep: sw, Result: res})
}

func (s *Server) apiFleetFindings(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	minScore, err := fleetQueryInt(r, "min_score", 0, 0, 100)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := r.URL.Query()
	items, total, err := s.deps.Fleet.Findings(r.Context(), caller(r), fleet.FindingQuery{Scope: askedScope(r), AssetID: v.Get("asset"),
		SweepID: v.Get("sweep"), Key: v.Get("key"), MinScore: minScore, Page: p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, total, p)
}

func (s *Server) apiFleetCoverage(w http.ResponseWriter, r *http.Request) {
	days, err := fleetQueryInt(r, "days", 7, 1, 3650)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cov, err := s.deps.Fleet.Coverage(r.Context(), caller(r), askedScope(r), days)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, cov)
}

func (s *Server) apiFleetPrevalence(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := r.URL.Query()
	items, total, err := s.deps.Fleet.Prevalence(r.Context(), caller(r), fleet.PrevalenceQuery{Scope: askedScope(r), Kind: v.Get("kind"), Text: v.Get("q"), Page: p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, total, p)
}

func (s *Server) apiFleetDiff(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	d, err := s.deps.Fleet.Diff(r.Context(), caller(r), v.Get("from"), v.Get("to"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) apiFleetAddReview(w http.ResponseWriter, r *http.Request) {
	var in fleet.ReviewInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	rv, err := s.deps.Fleet.AddReview(r.Context(), caller(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, rv)
}

func (s *Server) apiFleetReviews(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	rs, err := s.deps.Fleet.Reviews(r.Context(), caller(r), v.Get("tenant"), v.Get("key"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, rs, len(rs), access.Page{Limit: len(rs)})
}

func (s *Server) apiFleetExceptions(w http.ResponseWriter, r *http.Request) {
	ex, err := s.deps.Fleet.Exceptions(r.Context(), caller(r), r.URL.Query().Get("tenant"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, ex, len(ex), access.Page{Limit: len(ex)})
}

func (s *Server) apiFleetCampaigns(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, total, err := s.deps.Fleet.Campaigns(r.Context(), caller(r), askedScope(r), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, items, total, p)
}

func (s *Server) apiFleetCreateCampaign(w http.ResponseWriter, r *http.Request) {
	var in fleet.CampaignInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.deps.Fleet.CreateCampaign(r.Context(), caller(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) apiFleetCampaign(w http.ResponseWriter, r *http.Request) {
	c, err := s.deps.Fleet.Campaign(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) apiFleetPlatforms(w http.ResponseWriter, r *http.Request) {
	ps, err := s.deps.Fleet.Platforms(caller(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, ps, len(ps), access.Page{Limit: len(ps)})
}

// lazyDownload sets the download headers on the first write, so that an
// error found before any byte is answered in the API's error shape.
type lazyDownload struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (d *lazyDownload) Write(b []byte) (int, error) {
	if !d.started {
		d.started = true
		h := d.w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.name}))
		h.Set("Cache-Control", "no-store")
		d.w.WriteHeader(http.StatusOK)
	}
	return d.w.Write(b)
}

// apiFleetPackage builds a scan package. It takes JSON from programs and
// a form from the console's package page, which posts here directly.
func (s *Server) apiFleetPackage(w http.ResponseWriter, r *http.Request) {
	var in fleet.PackageInput
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.writeError(w, r, tansa.Errorf(tansa.Invalid, "the package form could not be read"))
			return
		}
		in = fleet.PackageInput{Tenant: r.PostFormValue("tenant_id"), Platform: r.PostFormValue("platform"),
			Campaign: r.PostFormValue("campaign"), Schedule: r.PostFormValue("schedule"), ExpiresIn: r.PostFormValue("expires_in")}
	} else if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	scheme := "http"
	if r.TLS != nil || s.deps.Secure {
		scheme = "https"
	}
	in.Origin = scheme + "://" + r.Host
	// The service checks the platform before writing; its file name is
	// the platform's.
	name := "tansa-scan-" + in.Platform
	if strings.HasPrefix(in.Platform, "windows-") {
		name += ".exe"
	}
	dl := &lazyDownload{w: w, name: name}
	if _, err := s.deps.Fleet.Package(r.Context(), caller(r), s.deps.Access, in, dl); err != nil {
		if !dl.started {
			s.writeError(w, r, err)
			return
		}
		s.deps.Logger.Warn("scan package cut short", "err", err)
		panic(http.ErrAbortHandler)
	}
}

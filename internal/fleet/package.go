package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/scan"
	"github.com/tansa-sec/tansa/internal/scan/ioc"
	"github.com/tansa-sec/tansa/internal/scan/pkgconfig"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Platform is one platform binary the server holds, named as the release
// script names them: tansa-GOOS-GOARCH[-yara][.exe].
type Platform struct {
	Name  string    `json:"name"` // "windows-amd64", "linux-amd64-yara"
	OS    string    `json:"os"`
	Arch  string    `json:"arch"`
	YARA  bool      `json:"yara"`
	File  string    `json:"file"`
	Bytes int64     `json:"bytes"`
	Built time.Time `json:"built"`
}

var binaryRE = regexp.MustCompile(`^tansa-(windows|linux|darwin)-(amd64|386|arm64)(-yara)?(\.exe)?$`)

// Platforms lists the platform binaries in the configured directory.
func (s *Service) Platforms(c access.Caller) ([]Platform, error) {
	if err := c.Require(access.PermFleetRead); err != nil {
		return nil, err
	}
	out := []Platform{}
	if s.opt.Binaries == "" {
		return out, nil
	}
	ents, err := os.ReadDir(s.opt.Binaries)
	if err != nil {
		if os.IsNotExist(err) {
			return out, nil
		}
		return nil, fmt.Errorf("platform binaries: %w", err)
	}
	for _, e := range ents {
		m := binaryRE.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() || (m[1] == "windows") != (m[4] == ".exe") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, Platform{Name: m[1] + "-" + m[2] + m[3], OS: m[1], Arch: m[2], YARA: m[3] != "",
			File: e.Name(), Bytes: info.Size(), Built: info.ModTime().UTC()})
	}
	slices.SortFunc(out, func(a, b Platform) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// TokenMaker creates enrolment tokens; *access.Service implements it.
type TokenMaker interface {
	CreateToken(ctx context.Context, c access.Caller, in access.TokenInput) (tansa.Token, string, error)
}

// PackageInput asks for a scan package.
type PackageInput struct {
	Tenant   string `json:"tenant_id"`
	Platform string `json:"platform"`
	Campaign string `json:"campaign"`
	// Schedule is written into the configuration for the job that runs
	// the package: "once" (default) or a Go duration such as "24h".
	Schedule string `json:"schedule"`
	// ExpiresIn limits the enrolment token's life ("2160h"); empty: never.
	ExpiresIn string `json:"expires_in"`
	// Origin is the URL the request reached this server at, used as the
	// upload URL when none is configured (set by the HTTP edge).
	Origin string `json:"-"`
}

// PackageInfo describes a built package.
type PackageInfo struct {
	File    string      `json:"file"`
	Token   tansa.Token `json:"token"`
	Signer  string      `json:"signer"`
	Config  scan.Config `json:"-"`
	Trailer int         `json:"trailer_bytes"`
}

// Package writes to w a scan package for a tenant: the platform binary
// followed by a configuration (server URL, a new enrolment token of the
// tenant, the server's age key, the tenant's indicators and exceptions,
// campaign and schedule) signed with the server's ed25519 key. Nothing is
// written to w unless everything before the binary's bytes succeeded.
func (s *Service) Package(ctx context.Context, c access.Caller, tokens TokenMaker, in PackageInput, w io.Writer) (PackageInfo, error) {
	if err := c.Require(access.PermFleetWrite); err != nil {
		return PackageInfo{}, err
	}
	tenant, err := s.reach(ctx, c, in.Tenant)
	if err != nil {
		return PackageInfo{}, err
	}
	plats, err := s.Platforms(c)
	if err != nil {
		return PackageInfo{}, err
	}
	i := slices.IndexFunc(plats, func(p Platform) bool { return p.Name == in.Platform })
	if i < 0 {
		names := make([]string, len(plats))
		for j, p := range plats {
			names[j] = p.Name
		}
		return PackageInfo{}, tansa.Errorf(tansa.Invalid, "platform: %q is not among the binaries this server holds (%s)", clip(in.Platform, 40), strings.Join(names, ", "))
	}
	plat := plats[i]
	serverURL := cmp(s.opt.ServerURL, in.Origin)
	if serverURL == "" {
		return PackageInfo{}, tansa.Errorf(tansa.Unavailable, "the server's public URL is not configured (fleet.server_url), so a package would not know where to upload")
	}
	sched := cmp(in.Schedule, "once")
	if sched != "once" {
		if d, err := time.ParseDuration(sched); err != nil || d < time.Hour {
			return PackageInfo{}, tansa.Errorf(tansa.Invalid, "schedule: %q is not \"once\" or a duration of 1h or more", clip(sched, 40))
		}
	}
	if in.Campaign != "" {
		cp, err := s.store.Campaign(ctx, in.Campaign)
		if err != nil || cp.TenantID != tenant {
			return PackageInfo{}, tansa.Errorf(tansa.NotFound, "campaign %q not found", clip(in.Campaign, 80))
		}
	}
	ex, err := s.store.Exceptions(ctx, tenant)
	if err != nil {
		return PackageInfo{}, err
	}
	cfg := scan.Config{Server: serverURL, Recipient: s.Recipient(), Tenant: tenant, Campaign: in.Campaign,
		Schedule: sched, MaxCPU: 50, Timeout: "15m", Exceptions: ex}
	if s.opt.IOCs != nil {
		inds, err := s.opt.IOCs(ctx, tenant)
		if err != nil {
			return PackageInfo{}, err
		}
		if len(inds) > 0 {
			cfg.IOC, _ = json.Marshal(ioc.Package{Name: "tansa " + tenant + " " + s.now().Format(time.DateOnly), Indicators: inds})
		}
	}
	f, err := os.Open(filepath.Join(s.opt.Binaries, plat.File))
	if err != nil {
		return PackageInfo{}, fmt.Errorf("platform binary: %w", err)
	}
	defer f.Close()
	tok, secret, err := tokens.CreateToken(ctx, c, access.TokenInput{Name: fmt.Sprintf("scan package %s %s", plat.Name, s.now().Format("2006-01-02 15:04")),
		Role: tansa.RoleScanner, TenantID: tenant, ExpiresIn: in.ExpiresIn})
	if err != nil {
		return PackageInfo{}, err
	}
	cfg.Token = secret
	payload, err := json.Marshal(cfg)
	if err != nil {
		return PackageInfo{}, err
	}
	trailer, err := pkgconfig.Trailer(payload, s.opt.Keys.Signer)
	if err != nil {
		return PackageInfo{}, tansa.Errorf(tansa.TooLarge, "%v", err)
	}
	info := PackageInfo{File: "tansa-scan-" + plat.Name + exeSuffix(plat.OS), Token: tok, Signer: s.SignerPublic(), Config: cfg, Trailer: len(trailer)}
	if _, err := io.Copy(w, f); err != nil {
		return info, fmt.Errorf("write package: %w", err)
	}
	if _, err := w.Write(trailer); err != nil {
		return info, fmt.Errorf("write package: %w", err)
	}
	return info, nil
}

func exeSuffix(goos string) string {
	if goos == "windows" {
		return ".exe"
	}
	return ""
}

package feeds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/intel/taxii"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Importer imports one document as a caller; *service.Service implements
// it.
type Importer interface {
	Import(ctx context.Context, c access.Caller, data []byte, in service.ImportInput) (*importer.Result, error)
}

// Tenants checks that a caller may reach a tenant; *access.Service
// implements it.
type Tenants interface {
	Tenant(ctx context.Context, c access.Caller, id string) (tansa.Tenant, error)
}

// Options tunes the service. Zero fields take the defaults in parentheses.
type Options struct {
	Timeout time.Duration    // one pull's time limit (5 min)
	Now     func() time.Time // (time.Now)
	Logger  *slog.Logger     // (discard)
	// AllowPrivate lets restricted feeds reach private addresses; tests
	// serving feeds on 127.0.0.1 set it.
	AllowPrivate bool
}

// Service configures and pulls feeds. It is safe for concurrent use.
type Service struct {
	store   Store
	imp     Importer
	tenants Tenants
	opt     Options
}

// New returns the service.
func New(store Store, imp Importer, tenants Tenants, opt Options) *Service {
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, imp: imp, tenants: tenants, opt: opt}
}

func (s *Service) now() time.Time { return s.opt.Now().UTC().Truncate(time.Microsecond) }

// sees reports whether c may see feed f: a tenant's feeds to those who
// reach the tenant, global feeds to provider roles over all tenants.
func sees(c access.Caller, f Feed) bool {
	if f.TenantID == "" {
		return c.AllTenants() && c.Current == ""
	}
	return c.CanAccess(f.TenantID) && (c.Current == "" || c.Current == f.TenantID)
}

// resolve returns the tenant a new feed belongs to.
func (s *Service) resolve(ctx context.Context, c access.Caller, asked string) (string, error) {
	if asked == "" {
		switch {
		case c.Current != "":
			asked = c.Current
		case !c.Role.Provider():
			asked = c.TenantID
		case c.AllTenants():
			return "", nil // a global feed
		default:
			return "", tansa.Errorf(tansa.Invalid, "tenant_id: name the tenant the feed is for")
		}
	}
	t, err := s.tenants.Tenant(ctx, c, asked)
	if err != nil {
		return "", err
	}
	if c.Current != "" && c.Current != t.ID {
		return "", tansa.Errorf(tansa.NotFound, "tenant %q not found", asked)
	}
	return t.ID, nil
}

// Create configures a new feed; its first pull is due at once.
func (s *Service) Create(ctx context.Context, c access.Caller, in Input) (Feed, error) {
	if err := c.Require(access.PermIntelWrite); err != nil {
		return Feed{}, err
	}
	asked := ""
	if in.TenantID != nil {
		asked = *in.TenantID
	}
	tenant, err := s.resolve(ctx, c, asked)
	if err != nil {
		return Feed{}, err
	}
	now := s.now()
	f := Feed{ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenant, Interval: time.Hour, Enabled: true,
		Restricted: !c.AllTenants(), NextPull: now, Created: now, Updated: now}
	if err := in.apply(&f); err != nil {
		return Feed{}, err
	}
	if f.Kind == KindFile && !c.AllTenants() {
		return Feed{}, tansa.Errorf(tansa.Forbidden, "file feeds read the server's disk: only a provider administrator over all tenants may configure them")
	}
	if err := s.store.CreateFeed(ctx, f); err != nil {
		return Feed{}, err
	}
	return f, nil
}

// Feed returns one feed c may see.
func (s *Service) Feed(ctx context.Context, c access.Caller, id string) (Feed, error) {
	if err := c.Require(access.PermIntelRead); err != nil {
		return Feed{}, err
	}
	f, err := s.store.Feed(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || err == nil && !sees(c, f) {
		return Feed{}, tansa.Errorf(tansa.NotFound, "feed %q not found", id)
	}
	return f, err
}

// Feeds lists the feeds c may see (narrowed to asked), by name.
func (s *Service) Feeds(ctx context.Context, c access.Caller, asked string, q Query) ([]Feed, int, error) {
	if err := c.Require(access.PermIntelRead); err != nil {
		return nil, 0, err
	}
	q.Scope = c.Scope()
	q.Scope.Provider = q.Scope.All
	q.Scope = q.Scope.Narrow(asked)
	return s.store.Feeds(ctx, q)
}

// Update changes a feed's configuration.
func (s *Service) Update(ctx context.Context, c access.Caller, id string, in Input) (Feed, error) {
	if err := c.Require(access.PermIntelWrite); err != nil {
		return Feed{}, err
	}
	f, err := s.Feed(ctx, c, id)
	if err != nil {
		return Feed{}, err
	}
	if in.TenantID != nil && *in.TenantID != f.TenantID {
		return Feed{}, tansa.Errorf(tansa.Invalid, "tenant_id: a feed stays with its tenant; configure a new one")
	}
	if err := in.apply(&f); err != nil {
		return Feed{}, err
	}
	if f.Kind == KindFile && !c.AllTenants() {
		return Feed{}, tansa.Errorf(tansa.Forbidden, "file feeds read the server's disk: only a provider administrator over all tenants may configure them")
	}
	if in.Source != nil || in.Kind != nil {
		f.Cursor = "" // another source starts from the beginning
	}
	f.Restricted = f.Restricted || !c.AllTenants()
	f.Updated = s.now()
	return f, s.store.UpdateFeed(ctx, f)
}

// Delete removes a feed; what it imported stays.
func (s *Service) Delete(ctx context.Context, c access.Caller, id string) error {
	if err := c.Require(access.PermIntelWrite); err != nil {
		return err
	}
	if _, err := s.Feed(ctx, c, id); err != nil {
		return err
	}
	return s.store.DeleteFeed(ctx, id)
}

// PullNow pulls one feed c may manage at once and returns it with the
// outcome recorded.
func (s *Service) PullNow(ctx context.Context, c access.Caller, id string) (Feed, error) {
	if err := c.Require(access.PermIntelWrite); err != nil {
		return Feed{}, err
	}
	f, err := s.Feed(ctx, c, id)
	if err != nil {
		return Feed{}, err
	}
	return s.pull(ctx, f), nil
}

// Run pulls due feeds every minute until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		s.PullDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PullDue pulls every feed whose time has come, one after another.
func (s *Service) PullDue(ctx context.Context) {
	due, err := s.store.DueFeeds(ctx, s.now())
	if err != nil {
		if ctx.Err() == nil {
			s.opt.Logger.Warn("feeds: due", "err", err)
		}
		return
	}
	for _, f := range due {
		if ctx.Err() != nil {
			return
		}
		s.pull(ctx, f)
	}
}

// pull pulls f, imports what it got and records the outcome on f.
func (s *Service) pull(ctx context.Context, f Feed) Feed {
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	start := s.now()
	sum, cur, err := s.fetch(ctx, f)
	f.LastPull, f.LastResult = start, &sum
	f.NextPull = start.Add(f.Interval)
	if err != nil {
		f.LastStatus, f.LastError = "error", tansa.MessageOf(err)
		if tansa.KindOf(err) == tansa.Internal {
			f.LastError = err.Error()
		}
		s.opt.Logger.Warn("feed pull failed", "feed", f.ID, "name", f.Name, "err", err)
	} else {
		f.LastStatus, f.LastError = "ok", ""
	}
	if cur != "" {
		f.Cursor = cur
	}
	if err := s.store.UpdateFeed(context.WithoutCancel(ctx), f); err != nil {
		s.opt.Logger.Warn("feed: store pull result", "feed", f.ID, "err", err)
	}
	return f
}

// caller is who a pull imports as: the system, for the feed's tenant.
func (f Feed) caller() access.Caller {
	return access.Caller{Principal: access.System("feed:" + f.Name), Addr: "feed"}
}

func (s *Service) importDoc(ctx context.Context, f Feed, data []byte, format importer.Format) (Summary, error) {
	res, err := s.imp.Import(ctx, f.caller(), data, service.ImportInput{Format: format, TenantID: f.TenantID,
		Source: "feed:" + f.Name, Feed: f.ID})
	if err != nil {
		return Summary{}, err
	}
	return summaryOf(res), nil
}

// fetch pulls f's source and imports it; for TAXII it returns the new
// cursor.
func (s *Service) fetch(ctx context.Context, f Feed) (Summary, string, error) {
	switch f.Kind {
	case KindFile:
		st, err := os.Stat(f.Source)
		if err != nil {
			return Summary{}, "", tansa.Errorf(tansa.NotFound, "file %s: %v", f.Source, errors.Unwrap(err))
		}
		if st.Size() > importer.MaxInput {
			return Summary{}, "", tansa.Errorf(tansa.TooLarge, "file %s: %d bytes exceeds the %d-byte import limit", f.Source, st.Size(), importer.MaxInput)
		}
		data, err := os.ReadFile(f.Source)
		if err != nil {
			return Summary{}, "", tansa.Errorf(tansa.Unavailable, "file %s: %v", f.Source, err)
		}
		sum, err := s.importDoc(ctx, f, data, f.Format)
		return sum, "", err
	case KindURL:
		data, err := s.get(ctx, f)
		if err != nil {
			return Summary{}, "", err
		}
		sum, err := s.importDoc(ctx, f, data, f.Format)
		return sum, "", err
	case KindTAXII:
		return s.fetchTAXII(ctx, f)
	}
	return Summary{}, "", tansa.Errorf(tansa.Invalid, "kind %q", f.Kind)
}

// client returns the HTTP client a feed's pulls use: a restricted feed's
// connections refuse the server's own network.
func (s *Service) client(f Feed) *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second}
	if f.Restricted && !s.opt.AllowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			a, err := netip.ParseAddr(host)
			if err != nil {
				return err
			}
			a = a.Unmap()
			if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast() || a.IsLinkLocalMulticast() {
				return tansa.Errorf(tansa.Forbidden, "address %s is on the server's own network, which tenant feeds may not reach", a)
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: 30 * time.Second, ResponseHeaderTimeout: time.Minute,
		Proxy: http.ProxyFromEnvironment}
	return &http.Client{Transport: tr, Timeout: s.opt.Timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("more than 5 redirects")
		}
		return nil
	}}
}

// auth sets a feed's credential on req: "user:password" as HTTP Basic,
// anything else as a bearer token.
func (f Feed) auth(req *http.Request) {
	if f.Secret == "" {
		return
	}
	if u, p, ok := strings.Cut(f.Secret, ":"); ok && !strings.ContainsAny(u, " ") {
		req.SetBasicAuth(u, p)
		return
	}
	req.Header.Set("Authorization", "Bearer "+f.Secret)
}

// get downloads a url feed's document.
func (s *Service) get(ctx context.Context, f Feed) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", f.Source, nil)
	if err != nil {
		return nil, tansa.Errorf(tansa.Invalid, "source: %v", err)
	}
	f.auth(req)
	req.Header.Set("Accept", "application/stix+json, application/json, text/csv, text/plain;q=0.9, */*;q=0.5")
	res, err := s.client(f).Do(req)
	if err != nil {
		return nil, tansa.Errorf(tansa.Unavailable, "get %s: %v", f.Source, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, tansa.Errorf(tansa.Unavailable, "get %s: %s", f.Source, res.Status)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, importer.MaxInput+1))
	if err != nil {
		return nil, tansa.Errorf(tansa.Unavailable, "get %s: %v", f.Source, err)
	}
	if len(data) > importer.MaxInput {
		return nil, tansa.Errorf(tansa.TooLarge, "get %s: larger than the %d-byte import limit", f.Source, importer.MaxInput)
	}
	return data, nil
}

// fetchTAXII pulls every collection the source names from its cursor on,
// importing each page of objects as one STIX bundle.
func (s *Service) fetchTAXII(ctx context.Context, f Feed) (Summary, string, error) {
	c := &taxii.Client{HTTP: s.client(f)}
	if u, p, ok := strings.Cut(f.Secret, ":"); ok && !strings.ContainsAny(u, " ") {
		c.Username, c.Token = u, p
	} else {
		c.Token = f.Secret
	}
	cols, err := c.CollectionsOf(ctx, f.Source)
	if err != nil {
		return Summary{}, "", err
	}
	cur := parseCursor(f.Cursor)
	var sum Summary
	for _, col := range cols {
		last, err := c.Objects(ctx, col, cur[col], 0, func(p taxii.Page) error {
			bundle, err := json.Marshal(map[string]any{"type": "bundle", "id": "bundle--" + uuid.NewString(), "objects": p.Objects})
			if err != nil {
				return err
			}
			got, err := s.importDoc(ctx, f, bundle, importer.FormatSTIX)
			if err != nil {
				return fmt.Errorf("import a page of %s: %w", col, err)
			}
			got.Objects = len(p.Objects)
			sum.add(got)
			return nil
		})
		if !last.IsZero() {
			cur[col] = last
		}
		if err != nil {
			return sum, cur.String(), err
		}
	}
	return sum, cur.String(), nil
}

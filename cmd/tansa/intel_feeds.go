package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// apiClient talks JSON to a running server's API with a token.
type apiClient struct {
	base, token string
	http        *http.Client
}

// remoteFlags adds --server and --token to fs.
func remoteFlags(fs *flag.FlagSet) (server, token *string) {
	server = fs.String("server", "", "the Tansa server `URL`, e.g. https://tansa.example:8443 (required)")
	token = fs.String("token", "", "an API `token` (or $TANSA_TOKEN)")
	return server, token
}

func newAPIClient(e *env, fs *flag.FlagSet, server, token string) (*apiClient, error) {
	if token == "" {
		token = e.getenv("TANSA_TOKEN")
	}
	if server == "" || token == "" {
		fs.Usage()
		return nil, errUsage
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q is not an http(s) URL", server)
	}
	return &apiClient{base: strings.TrimRight(server, "/"), token: token, http: &http.Client{Timeout: 10 * time.Minute}}, nil
}

// do sends body (nil: none) as JSON and decodes the answer into out
// (nil: discarded); an error answer becomes an error with its message.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		var e intelImportError
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("server answered %d: %s", res.StatusCode, e.Error.Message)
		}
		return fmt.Errorf("server answered %s", res.Status)
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

// feedRow is a feed source as the API shows it (the fields printed).
type feedRow struct {
	ID         string    `json:"id"`
	TenantID   string    `json:"tenant_id"`
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	Source     string    `json:"source"`
	Interval   string    `json:"interval"`
	Enabled    bool      `json:"enabled"`
	LastPull   time.Time `json:"last_pull"`
	LastStatus string    `json:"last_status"`
	LastError  string    `json:"last_error"`
	LastResult *struct {
		Added, Updated, Rejected, Objects int
	} `json:"last_result"`
	NextPull time.Time `json:"next_pull"`
}

func (f feedRow) print(w io.Writer) {
	last := "never pulled"
	if !f.LastPull.IsZero() {
		last = f.LastPull.Format(time.RFC3339) + " " + f.LastStatus
		if f.LastResult != nil {
			last += fmt.Sprintf(" (%d added, %d updated, %d rejected)", f.LastResult.Added, f.LastResult.Updated, f.LastResult.Rejected)
		}
		if f.LastError != "" {
			last += ": " + f.LastError
		}
	}
	state := "every " + f.Interval
	if !f.Enabled {
		state = "disabled"
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", f.ID, f.Name, f.Kind, f.Source, state, last)
}

func intelFeeds(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "intel feeds", args, map[string]func(context.Context, *env, []string) error{
		"list": intelFeedsList,
		"add":  intelFeedsAdd,
		"pull": intelFeedsPull,
		"rm":   intelFeedsRemove,
	}, `Configure the feeds a running Tansa pulls on a schedule: TAXII 2.1
collections, http(s) URLs of STIX, MISP, CSV or text documents, and local
files (provider administrators only). Every verb takes --server and --token.`)
}

func intelFeedsList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "intel feeds list", "--server URL --token TOKEN [--tenant ID]",
		"List feed sources, one per line: ID, name, kind, source, schedule and the last pull.")
	server, token := remoteFlags(fs)
	tenant := fs.String("tenant", "", "only this tenant's feeds")
	if done, err := parse(e, fs, args); done {
		return err
	}
	c, err := newAPIClient(e, fs, *server, *token)
	if err != nil {
		return err
	}
	var page struct {
		Items []feedRow `json:"items"`
		Total int       `json:"total"`
	}
	q := url.Values{"limit": {"500"}}
	if *tenant != "" {
		q.Set("tenant", *tenant)
	}
	if err := c.do(ctx, "GET", "/api/v1/intel/sources?"+q.Encode(), nil, &page); err != nil {
		return err
	}
	for _, f := range page.Items {
		f.print(e.stdout)
	}
	return nil
}

func intelFeedsAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "intel feeds add", "--server URL --token TOKEN --name NAME --kind taxii|url|file --source SOURCE [flags]", `
Configure a feed source. --kind taxii takes a collection URL, or a discovery
or API root URL whose readable collections are all pulled; --kind url takes
an http(s) document; --kind file an absolute path on the server. --secret is
sent to the source as a bearer token, or as HTTP Basic when it is
user:password. The first pull happens within a minute; the feed's ID is
printed.`)
	server, token := remoteFlags(fs)
	tenant := fs.String("tenant", "", "the tenant `ID` the feed imports into (default: the token's; none for global)")
	name := fs.String("name", "", "a `name` for the feed")
	kind := fs.String("kind", "", "taxii, url or file")
	source := fs.String("source", "", "the collection URL, document URL or file path")
	format := fs.String("format", "", "document `format` for url and file feeds: auto, stix, misp, csv or text")
	secret := fs.String("secret", "", "a `credential` for the source (or $TANSA_FEED_SECRET)")
	interval := fs.String("interval", "1h", "how often to pull (5m to 720h)")
	if done, err := parse(e, fs, args); done {
		return err
	}
	c, err := newAPIClient(e, fs, *server, *token)
	if err != nil {
		return err
	}
	if *secret == "" {
		*secret = e.getenv("TANSA_FEED_SECRET")
	}
	in := map[string]any{"name": *name, "kind": *kind, "source": *source, "interval": *interval}
	for k, v := range map[string]string{"tenant_id": *tenant, "format": *format, "secret": *secret} {
		if v != "" {
			in[k] = v
		}
	}
	var f feedRow
	if err := c.do(ctx, "POST", "/api/v1/intel/sources", in, &f); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, f.ID)
	return nil
}

func intelFeedsPull(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "intel feeds pull", "--server URL --token TOKEN FEED-ID...",
		"Pull feeds now and print each one's outcome; fails when a pull failed.")
	server, token := remoteFlags(fs)
	if done, err := parse(e, fs, args); done {
		return err
	}
	c, err := newAPIClient(e, fs, *server, *token)
	if err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	failed := 0
	for _, id := range fs.Args() {
		var f feedRow
		if err := c.do(ctx, "POST", "/api/v1/intel/sources/"+url.PathEscape(id)+"/pull", map[string]any{}, &f); err != nil {
			failed++
			fmt.Fprintf(e.stdout, "%s\terror: %v\n", id, err)
			continue
		}
		if f.LastStatus != "ok" {
			failed++
		}
		f.print(e.stdout)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d pulls failed", failed, fs.NArg())
	}
	return nil
}

func intelFeedsRemove(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "intel feeds rm", "--server URL --token TOKEN FEED-ID...",
		"Remove feed sources; the indicators they imported stay.")
	server, token := remoteFlags(fs)
	if done, err := parse(e, fs, args); done {
		return err
	}
	c, err := newAPIClient(e, fs, *server, *token)
	if err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	for _, id := range fs.Args() {
		if err := c.do(ctx, "DELETE", "/api/v1/intel/sources/"+url.PathEscape(id), nil, nil); err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
	}
	return nil
}

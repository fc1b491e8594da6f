package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/tansa-sec/tansa/internal/intel/importer"
)

func cmdIntel(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "intel", args, map[string]func(context.Context, *env, []string) error{
		"import": intelImport,
		"feeds":  intelFeeds,
	}, `Work with the threat intelligence of a running Tansa server.
Run "tansa intel import --help" or "tansa intel feeds --help" for their flags.`)
}

// intelImportError is the API's error shape.
type intelImportError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func intelImport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "intel import", "--server URL --token TOKEN [--format FORMAT] [--tenant ID] FILE...", `
Import threat-intelligence files into a running Tansa: STIX 2.x bundles, MISP
events or collections, CSV with a header row, and plain lists of IPs,
domains, URLs or hashes (one per line, defanged values accepted). Each file
is posted to /api/v1/intel/import; its format is detected unless --format
says it. Indicators are upserted, so importing a file again updates rather
than duplicates them.

The token needs intel.write: a tenant administrator's imports go to its
tenant; a provider token names the tenant with --tenant, or imports global
intelligence (visible to every tenant) when it reaches all tenants and
names none. A progress bar shows the upload when stderr is a terminal. A
line per file reports what was added, updated, flagged as allowlisted,
rejected and skipped, followed by the first rejections with their reasons.`)
	server := fs.String("server", "", "the Tansa server `URL`, e.g. https://tansa.example:8443 (required)")
	token := fs.String("token", "", "an API `token` with intel.write (or $TANSA_TOKEN)")
	format := fs.String("format", "auto", "file `format`: auto, stix, misp, csv or text")
	tenant := fs.String("tenant", "", "the tenant `ID` that owns the indicators")
	insecure := fs.Bool("insecure", false, "accept any TLS certificate (tests only)")
	if done, err := parse(e, fs, args); done {
		return err
	}
	if *token == "" {
		*token = e.getenv("TANSA_TOKEN")
	}
	if *server == "" || *token == "" || fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	f, err := importer.ParseFormat(*format)
	if err != nil {
		return err
	}
	u, err := url.Parse(*server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("server %q is not an http(s) URL", *server)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if *insecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the operator asked for it, for a test server
	}
	client := &http.Client{Timeout: 30 * time.Minute, Transport: transport}
	base := strings.TrimRight(*server, "/")
	tty := false
	if f, ok := e.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		tty = true
	}
	failed := 0
	for _, path := range fs.Args() {
		res, err := intelPost(ctx, client, base, *token, path, f, *tenant, tty, e.stderr)
		if err != nil {
			failed++
			fmt.Fprintf(e.stdout, "%s\terror: %v\n", path, err)
			continue
		}
		fmt.Fprintf(e.stdout, "%s\t%s\t%d items\t%d added\t%d updated\t%d flagged\t%d rejected\t%d skipped\n",
			path, res.Format, res.Items, res.Added, res.Updated, res.Flagged, res.RejectedCount, res.SkippedCount)
		for i, r := range res.Rejected {
			if i == 20 {
				fmt.Fprintf(e.stdout, "  … %d more rejected\n", res.RejectedCount-20)
				break
			}
			fmt.Fprintf(e.stdout, "  rejected %s: %s\n", r.Item, r.Reason)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed", failed, fs.NArg())
	}
	return ctx.Err()
}

// intelPost uploads one file and returns the server's result.
func intelPost(ctx context.Context, client *http.Client, base, token, path string, f importer.Format, tenant string, tty bool, stderr io.Writer) (*importer.Result, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("is a directory")
	}
	if st.Size() > importer.MaxInput {
		return nil, fmt.Errorf("%d bytes exceeds the server's %d-byte import limit", st.Size(), importer.MaxInput)
	}
	var body io.Reader = file
	if tty {
		bar := progressbar.NewOptions64(st.Size(), progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription(filepath.Base(path)),
			progressbar.OptionShowBytes(true), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
		defer bar.Finish()
		r := progressbar.NewReader(file, bar)
		body = &r
	}
	q := url.Values{"format": {string(f)}, "source": {filepath.Base(path)}}
	if tenant != "" {
		q.Set("tenant", tenant)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/intel/import?"+q.Encode(), body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read the server's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e intelImportError
		if json.Unmarshal(msg, &e) == nil && e.Error.Message != "" {
			return nil, fmt.Errorf("server refused the file: %d %s", resp.StatusCode, e.Error.Message)
		}
		return nil, fmt.Errorf("server refused the file: %d %s", resp.StatusCode, strings.TrimSpace(string(msg[:min(len(msg), 300)])))
	}
	var res importer.Result
	if err := json.Unmarshal(msg, &res); err != nil {
		return nil, fmt.Errorf("the server's answer is not an import result: %w", err)
	}
	return &res, nil
}

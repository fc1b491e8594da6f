package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/detect/ruleset"
)

func rulesImport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "rules import", "--server URL --token TOKEN [--set NAME] [--tenant ID] PATH|URL", `
Import Sigma rules into a running Tansa as the next version of a rule set,
which becomes live at once (earlier versions are kept and can be made live
again with POST /api/v1/rules/versions/{id}/activate).

PATH is a directory (walked recursively for .yml and .yaml files, sent as one
archive), a single rule file, or a SigmaHQ release archive (.zip or .tar.gz,
e.g. sigma_all_rules.zip); an http(s) URL is downloaded first. The server
parses every rule before storing anything and reports each file it could not
use with its line and reason.

The token needs rule.write. A tenant administrator's rules go to its tenant;
a provider token names the tenant with --tenant, or imports a global set
(run for every tenant, by each tenant's settings) when it reaches all
tenants and names none. By default a tenant runs the stable and test rules
of level medium and above; change that with PUT /api/v1/rules/settings or the
console's Rules page.

Examples:
  tansa rules import --server https://tansa:8443 --token $T --set sigmahq sigma_all_rules.zip
  tansa rules import --server https://tansa:8443 --token $T --set sigmahq \
      https://github.com/SigmaHQ/sigma/releases/latest/download/sigma_all_rules.zip
  tansa rules import --server https://tansa:8443 --token $T --tenant $ID --set local ./my-rules/`)
	server := fs.String("server", "", "the Tansa server `URL` (required)")
	token := fs.String("token", "", "an API `token` with rule.write (or $TANSA_TOKEN)")
	set := fs.String("set", "default", "the rule set's `name`, e.g. sigmahq, tansa, local")
	tenant := fs.String("tenant", "", "the tenant `ID` whose rule set it is")
	insecure := fs.Bool("insecure", false, "accept any TLS certificate (tests only)")
	if done, err := parse(e, fs, args); done {
		return err
	}
	if *token == "" {
		*token = e.getenv("TANSA_TOKEN")
	}
	if *server == "" || *token == "" || fs.NArg() != 1 {
		fs.Usage()
		return errUsage
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
	src := fs.Arg(0)
	data, name, err := readRules(ctx, client, src)
	if err != nil {
		return err
	}
	q := url.Values{"set": {*set}, "source": {src}, "name": {name}}
	if *tenant != "" {
		q.Set("tenant", *tenant)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(*server, "/")+"/api/v1/rules/import?"+q.Encode(), bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+*token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var apiErr intelImportError
		if json.Unmarshal(msg, &apiErr) == nil && apiErr.Error.Message != "" {
			return fmt.Errorf("server: %s (%s)", apiErr.Error.Message, apiErr.Error.Code)
		}
		return fmt.Errorf("server answered %s", resp.Status)
	}
	var v ruleset.Version
	if err := json.Unmarshal(msg, &v); err != nil {
		return fmt.Errorf("server answer: %w", err)
	}
	scope := "global"
	if v.TenantID != "" {
		scope = "tenant " + v.TenantID
	}
	fmt.Fprintf(e.stdout, "%s\tset %s (%s) version %d, live\t%d files\t%d rules\t%d rejected\n", src, v.Set, scope, v.Version,
		v.Result.Files, v.Rules, v.Result.RejectedCount)
	for i, r := range v.Result.Rejected {
		if i == 20 {
			fmt.Fprintf(e.stdout, "  … %d more rejected\n", v.Result.RejectedCount-20)
			break
		}
		fmt.Fprintf(e.stdout, "  rejected %s:%d: %s\n", r.Path, r.Line, r.Reason)
	}
	return nil
}

// readRules reads what to upload: a URL's body, a directory packed as a
// .tar.gz, or a file as it is. It returns the bytes and a file name.
func readRules(ctx context.Context, client *http.Client, src string) ([]byte, string, error) {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		req, err := http.NewRequestWithContext(ctx, "GET", src, nil)
		if err != nil {
			return nil, "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, "", fmt.Errorf("download %s: %w", src, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, "", fmt.Errorf("download %s: %s", src, resp.Status)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, ruleset.MaxInput+1))
		if err != nil {
			return nil, "", fmt.Errorf("download %s: %w", src, err)
		}
		if len(data) > ruleset.MaxInput {
			return nil, "", fmt.Errorf("download %s: larger than the server's %d-byte limit", src, ruleset.MaxInput)
		}
		p, _ := url.Parse(src)
		return data, filepath.Base(p.Path), nil
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil, "", err
	}
	if !st.IsDir() {
		if st.Size() > ruleset.MaxInput {
			return nil, "", fmt.Errorf("%s: %d bytes exceeds the server's %d-byte limit", src, st.Size(), ruleset.MaxInput)
		}
		data, err := os.ReadFile(src)
		return data, filepath.Base(src), err
	}
	var files []ruleset.File
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ext := strings.ToLower(filepath.Ext(p))
		if d.IsDir() || (ext != ".yml" && ext != ".yaml") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		files = append(files, ruleset.File{Path: filepath.ToSlash(rel), Body: b})
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if len(files) == 0 {
		return nil, "", fmt.Errorf("%s: no .yml or .yaml files", src)
	}
	var buf bytes.Buffer
	if err := ruleset.Pack(&buf, files); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), filepath.Base(src) + ".tar.gz", nil
}

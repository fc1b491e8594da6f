package edr

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// DefenderConfig configures Microsoft Defender for Endpoint.
type DefenderConfig struct {
	// BaseURL is the API's root (https://api.securitycenter.microsoft.com).
	BaseURL string
	// TokenURL is the token endpoint
	// (https://login.microsoftonline.com/{TenantID}/oauth2/v2.0/token).
	TokenURL     string
	TenantID     string // the Entra ID tenant of the app registration
	ClientID     string
	ClientSecret string
}

// Defender is a Microsoft Defender for Endpoint client: POST
// /api/machines/{id}/isolate and /unisolate, GET /api/machineactions to
// reconcile by the comment's key.
type Defender struct {
	cfg DefenderConfig
	hc  *http.Client
	ts  *tokenSource
}

// NewDefender returns a client; hc is the HTTP client to use.
func NewDefender(cfg DefenderConfig, hc *http.Client) (*Defender, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://api.securitycenter.microsoft.com"
	}
	if cfg.TokenURL == "" {
		if cfg.TenantID == "" {
			return nil, tansa.Errorf(tansa.Invalid, "defender: tenant_id (or token_url) is required")
		}
		cfg.TokenURL = "https://login.microsoftonline.com/" + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token"
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, tansa.Errorf(tansa.Invalid, "defender: client_id and client_secret are required")
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	d := &Defender{cfg: cfg, hc: hc}
	d.ts = &tokenSource{fetch: func(ctx context.Context) (string, time.Duration, error) {
		return clientCredentials(ctx, hc, cfg.TokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {cfg.ClientID},
			"client_secret": {cfg.ClientSecret}, "scope": {strings.TrimSuffix(cfg.BaseURL, "/") + "/.default"}}, "defender")
	}}
	return d, nil
}

var defenderID = regexp.MustCompile(`^[0-9a-f]{40}$`)

// machine returns the machine ID of host: itself when it is one, else the
// machine whose computerDnsName is host.
func (d *Defender) machine(ctx context.Context, host string) (string, error) {
	if defenderID.MatchString(host) {
		return host, nil
	}
	filter := "computerDnsName eq '" + strings.ReplaceAll(host, "'", "''") + "'"
	b, err := bearerCall(ctx, d.hc, d.ts, "GET", d.cfg.BaseURL+"/api/machines?$filter="+url.QueryEscape(filter), nil, "defender: find machine")
	if err != nil {
		return "", err
	}
	var res struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return "", fmt.Errorf("defender: find machine: %w", err)
	}
	if len(res.Value) == 0 {
		return "", tansa.Errorf(tansa.NotFound, "defender: no machine named %q", host)
	}
	return res.Value[0].ID, nil
}

type machineAction struct {
	ID               string `json:"id"`
	Type             string `json:"type"`
	Status           string `json:"status"`
	MachineID        string `json:"machineId"`
	RequestorComment string `json:"requestorComment"`
}

func (a machineAction) output() map[string]any {
	return map[string]any{"vendor": "defender", "machine_id": a.MachineID, "action_id": a.ID, "action": a.Type, "status": a.Status}
}

func (d *Defender) act(ctx context.Context, host, verb, comment, key string) (map[string]any, error) {
	id, err := d.machine(ctx, host)
	if err != nil {
		return nil, err
	}
	body := map[string]string{"Comment": withMarker(comment, key)}
	if verb == "isolate" {
		body["IsolationType"] = "Full"
	}
	b, err := bearerCall(ctx, d.hc, d.ts, "POST", d.cfg.BaseURL+"/api/machines/"+url.PathEscape(id)+"/"+verb, body, "defender: "+verb)
	if err != nil {
		return nil, err
	}
	var a machineAction
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("defender: %s: %w", verb, err)
	}
	return a.output(), nil
}

// Isolate isolates a machine fully.
func (d *Defender) Isolate(ctx context.Context, host, comment, key string) (map[string]any, error) {
	return d.act(ctx, host, "isolate", comment, key)
}

// Release undoes an isolation.
func (d *Defender) Release(ctx context.Context, host, comment, key string) (map[string]any, error) {
	return d.act(ctx, host, "unisolate", comment, key)
}

// Reconcile looks for the machine action whose comment carries key.
func (d *Defender) Reconcile(ctx context.Context, host, key string, release bool) (map[string]any, bool, error) {
	id, err := d.machine(ctx, host)
	if err != nil {
		return nil, false, err
	}
	typ := "Isolate"
	if release {
		typ = "Unisolate"
	}
	filter := "machineId eq '" + id + "' and type eq '" + typ + "'"
	b, err := bearerCall(ctx, d.hc, d.ts, "GET", d.cfg.BaseURL+"/api/machineactions?$filter="+url.QueryEscape(filter), nil, "defender: machine actions")
	if err != nil {
		return nil, false, err
	}
	var res struct {
		Value []machineAction `json:"value"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, false, fmt.Errorf("defender: machine actions: %w", err)
	}
	for _, a := range res.Value {
		if strings.Contains(a.RequestorComment, marker(key)) && a.Status != "Failed" && a.Status != "Cancelled" {
			out := a.output()
			out["reconciled"] = true
			return out, true, nil
		}
	}
	return nil, false, nil
}

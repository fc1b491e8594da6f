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

// CrowdStrikeConfig configures CrowdStrike Falcon.
type CrowdStrikeConfig struct {
	// BaseURL is the cloud's API root (https://api.crowdstrike.com,
	// https://api.us-2.crowdstrike.com, https://api.eu-1.crowdstrike.com…).
	BaseURL      string
	ClientID     string
	ClientSecret string
}

// CrowdStrike is a Falcon client: POST
// /devices/entities/devices-actions/v2?action_name=contain|lift_containment,
// GET /devices/entities/devices/v2 to reconcile by the device's status
// (Falcon keeps no comment on device actions).
type CrowdStrike struct {
	cfg CrowdStrikeConfig
	hc  *http.Client
	ts  *tokenSource
}

// NewCrowdStrike returns a client; hc is the HTTP client to use.
func NewCrowdStrike(cfg CrowdStrikeConfig, hc *http.Client) (*CrowdStrike, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://api.crowdstrike.com"
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, tansa.Errorf(tansa.Invalid, "crowdstrike: client_id and client_secret are required")
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	c := &CrowdStrike{cfg: cfg, hc: hc}
	c.ts = &tokenSource{fetch: func(ctx context.Context) (string, time.Duration, error) {
		return clientCredentials(ctx, hc, cfg.BaseURL+"/oauth2/token", url.Values{"client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}}, "crowdstrike")
	}}
	return c, nil
}

var falconID = regexp.MustCompile(`^[0-9a-f]{32}$`)

type falconErrors []struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// device returns the device ID (AID) of host.
func (c *CrowdStrike) device(ctx context.Context, host string) (string, error) {
	if falconID.MatchString(host) {
		return host, nil
	}
	filter := "hostname:'" + strings.ReplaceAll(host, "'", "") + "'"
	b, err := bearerCall(ctx, c.hc, c.ts, "GET", c.cfg.BaseURL+"/devices/queries/devices/v1?filter="+url.QueryEscape(filter), nil, "crowdstrike: find device")
	if err != nil {
		return "", err
	}
	var res struct {
		Resources []string `json:"resources"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return "", fmt.Errorf("crowdstrike: find device: %w", err)
	}
	if len(res.Resources) == 0 {
		return "", tansa.Errorf(tansa.NotFound, "crowdstrike: no device named %q", host)
	}
	return res.Resources[0], nil
}

func (c *CrowdStrike) act(ctx context.Context, host, action string) (map[string]any, error) {
	id, err := c.device(ctx, host)
	if err != nil {
		return nil, err
	}
	b, err := bearerCall(ctx, c.hc, c.ts, "POST", c.cfg.BaseURL+"/devices/entities/devices-actions/v2?action_name="+action,
		map[string][]string{"ids": {id}}, "crowdstrike: "+action)
	if err != nil {
		return nil, err
	}
	var res struct {
		Resources []struct {
			ID string `json:"id"`
		} `json:"resources"`
		Errors falconErrors `json:"errors"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("crowdstrike: %s: %w", action, err)
	}
	if len(res.Errors) > 0 {
		return nil, fmt.Errorf("crowdstrike: %s: %d %s", action, res.Errors[0].Code, res.Errors[0].Message)
	}
	return map[string]any{"vendor": "crowdstrike", "device_id": id, "action": action}, nil
}

// Isolate contains a device (network containment).
func (c *CrowdStrike) Isolate(ctx context.Context, host, _, _ string) (map[string]any, error) {
	return c.act(ctx, host, "contain")
}

// Release lifts containment.
func (c *CrowdStrike) Release(ctx context.Context, host, _, _ string) (map[string]any, error) {
	return c.act(ctx, host, "lift_containment")
}

// Reconcile reads the device's containment status: contained or pending
// means an isolation took effect.
func (c *CrowdStrike) Reconcile(ctx context.Context, host, _ string, release bool) (map[string]any, bool, error) {
	id, err := c.device(ctx, host)
	if err != nil {
		return nil, false, err
	}
	b, err := bearerCall(ctx, c.hc, c.ts, "GET", c.cfg.BaseURL+"/devices/entities/devices/v2?ids="+url.QueryEscape(id), nil, "crowdstrike: device")
	if err != nil {
		return nil, false, err
	}
	var res struct {
		Resources []struct {
			DeviceID string `json:"device_id"`
			Status   string `json:"status"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(b, &res); err != nil || len(res.Resources) == 0 {
		return nil, false, fmt.Errorf("crowdstrike: device %s: no status in the answer", id)
	}
	st := res.Resources[0].Status
	done := st == "contained" || st == "containment_pending"
	if release {
		done = st == "normal" || st == "lift_containment_pending"
	}
	return map[string]any{"vendor": "crowdstrike", "device_id": id, "status": st, "reconciled": true}, done, nil
}

package edr

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/tansa-sec/tansa/internal/playbook/outcall"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// CarbonBlackConfig configures VMware Carbon Black Cloud.
type CarbonBlackConfig struct {
	// BaseURL is the environment's API root
	// (https://defense.conferdeploy.net, https://defense-prod05.conferdeploy.net…).
	BaseURL string
	OrgKey  string
	// APIID and APISecret form the X-Auth-Token "APISecret/APIID".
	APIID     string
	APISecret string
}

// CarbonBlack is a Carbon Black Cloud client: POST
// /appservices/v6/orgs/{org}/device_actions with QUARANTINE on or off,
// GET /appservices/v6/orgs/{org}/devices/{id} to reconcile.
type CarbonBlack struct {
	cfg CarbonBlackConfig
	hc  *http.Client
}

// NewCarbonBlack returns a client; hc is the HTTP client to use.
func NewCarbonBlack(cfg CarbonBlackConfig, hc *http.Client) (*CarbonBlack, error) {
	if cfg.BaseURL == "" || cfg.OrgKey == "" || cfg.APIID == "" || cfg.APISecret == "" {
		return nil, tansa.Errorf(tansa.Invalid, "carbonblack: base_url, org_key, api_id and api_secret are required")
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	return &CarbonBlack{cfg: cfg, hc: hc}, nil
}

func (c *CarbonBlack) call(ctx context.Context, method, path string, body any, what string) ([]byte, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	req, err := outcall.JSONRequest(method, c.cfg.BaseURL+"/appservices/v6/orgs/"+url.PathEscape(c.cfg.OrgKey)+path, raw)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Auth-Token", c.cfg.APISecret+"/"+c.cfg.APIID)
	_, b, err := outcall.Do(ctx, c.hc, req, what)
	return b, err
}

var cbID = regexp.MustCompile(`^[0-9]{1,20}$`)

func (c *CarbonBlack) device(ctx context.Context, host string) (string, error) {
	if cbID.MatchString(host) {
		return host, nil
	}
	b, err := c.call(ctx, "POST", "/devices/_search", map[string]any{"query": "name:" + host, "rows": 2}, "carbonblack: find device")
	if err != nil {
		return "", err
	}
	var res struct {
		Results []struct {
			ID   json.Number `json:"id"`
			Name string      `json:"name"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return "", fmt.Errorf("carbonblack: find device: %w", err)
	}
	if len(res.Results) == 0 {
		return "", tansa.Errorf(tansa.NotFound, "carbonblack: no device named %q", host)
	}
	return res.Results[0].ID.String(), nil
}

func (c *CarbonBlack) quarantine(ctx context.Context, host, toggle string) (map[string]any, error) {
	id, err := c.device(ctx, host)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"action_type": "QUARANTINE", "device_id": []string{id}, "options": map[string]string{"toggle": toggle}}
	if _, err := c.call(ctx, "POST", "/device_actions", body, "carbonblack: quarantine "+strings.ToLower(toggle)); err != nil {
		return nil, err
	}
	return map[string]any{"vendor": "carbonblack", "device_id": id, "quarantine": toggle}, nil
}

// Isolate quarantines a device.
func (c *CarbonBlack) Isolate(ctx context.Context, host, _, _ string) (map[string]any, error) {
	return c.quarantine(ctx, host, "ON")
}

// Release lifts the quarantine.
func (c *CarbonBlack) Release(ctx context.Context, host, _, _ string) (map[string]any, error) {
	return c.quarantine(ctx, host, "OFF")
}

// Reconcile reads whether the device is quarantined.
func (c *CarbonBlack) Reconcile(ctx context.Context, host, _ string, release bool) (map[string]any, bool, error) {
	id, err := c.device(ctx, host)
	if err != nil {
		return nil, false, err
	}
	b, err := c.call(ctx, "GET", "/devices/"+id, nil, "carbonblack: device")
	if err != nil {
		return nil, false, err
	}
	var dev struct {
		Quarantined bool `json:"quarantined"`
	}
	if err := json.Unmarshal(b, &dev); err != nil {
		return nil, false, fmt.Errorf("carbonblack: device %s: %w", id, err)
	}
	return map[string]any{"vendor": "carbonblack", "device_id": id, "quarantined": dev.Quarantined, "reconciled": true}, dev.Quarantined != release, nil
}

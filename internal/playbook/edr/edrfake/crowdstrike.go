package edrfake

import (
	"encoding/json"
	"net/http"
	"strings"
)

// CrowdStrike fakes the Falcon API: POST /oauth2/token (client
// credentials, 201), GET /devices/queries/devices/v1?filter=hostname:'…',
// GET /devices/entities/devices/v2?ids=, and POST
// /devices/entities/devices-actions/v2?action_name=contain|lift_containment
// with {"ids": […]} (202), in Falcon's envelope {meta, resources, errors}.
type CrowdStrike struct {
	base
	ClientID, ClientSecret string
}

// NewCrowdStrike returns a fake accepting the given API client.
func NewCrowdStrike(clientID, clientSecret string) *CrowdStrike {
	return &CrowdStrike{base: newBase(), ClientID: clientID, ClientSecret: clientSecret}
}

func falcon(w http.ResponseWriter, status int, resources any, errs ...map[string]any) {
	if errs == nil {
		errs = []map[string]any{}
	}
	writeJSON(w, status, map[string]any{"meta": map[string]any{"query_time": 0.01, "trace_id": "fake"}, "resources": resources, "errors": errs})
}

func (c *CrowdStrike) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/oauth2/token" {
		if r.Method != "POST" || r.FormValue("client_id") != c.ClientID || r.FormValue("client_secret") != c.ClientSecret {
			falcon(w, 401, nil, map[string]any{"code": 401, "message": "access denied, invalid client credentials"})
			return
		}
		writeJSON(w, 201, map[string]any{"access_token": c.issue(), "token_type": "bearer", "expires_in": 1799})
		return
	}
	f, effect := c.fault(r)
	if f != nil && !effect {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		falcon(w, f.Status, nil, map[string]any{"code": f.Status, "message": http.StatusText(f.Status)})
		return
	}
	if !c.validBearer(r) {
		falcon(w, 401, nil, map[string]any{"code": 401, "message": "access denied, authorization failed"})
		return
	}
	switch {
	case r.Method == "GET" && r.URL.Path == "/devices/queries/devices/v1":
		name := strings.Trim(strings.TrimPrefix(r.URL.Query().Get("filter"), "hostname:"), "'")
		ids := []string{}
		if id, ok := c.lookup(name); ok {
			ids = append(ids, id)
		}
		falcon(w, 200, ids)
	case r.Method == "GET" && r.URL.Path == "/devices/entities/devices/v2":
		var res []map[string]any
		for _, id := range r.URL.Query()["ids"] {
			if _, ok := c.lookup(id); ok {
				st := "normal"
				if c.Isolated(id) {
					st = "contained"
				}
				res = append(res, map[string]any{"device_id": id, "status": st})
			}
		}
		if len(res) == 0 {
			falcon(w, 404, []any{}, map[string]any{"code": 404, "message": "no devices found"})
			return
		}
		falcon(w, 200, res)
	case r.Method == "POST" && r.URL.Path == "/devices/entities/devices-actions/v2":
		action := r.URL.Query().Get("action_name")
		if action != "contain" && action != "lift_containment" {
			falcon(w, 400, nil, map[string]any{"code": 400, "message": "invalid action_name"})
			return
		}
		var body struct {
			IDs []string `json:"ids"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.IDs) == 0 {
			falcon(w, 400, nil, map[string]any{"code": 400, "message": "ids are required"})
			return
		}
		var res []map[string]any
		for _, id := range body.IDs {
			if _, ok := c.lookup(id); !ok {
				falcon(w, 404, []any{}, map[string]any{"code": 404, "message": "device " + id + " not found"})
				return
			}
			verb := "isolate"
			if action == "lift_containment" {
				verb = "release"
			}
			c.record(verb, id, action == "contain")
			res = append(res, map[string]any{"id": id, "path": "/devices/entities/devices/v1?ids=" + id})
		}
		if f != nil {
			falcon(w, f.Status, nil, map[string]any{"code": f.Status, "message": http.StatusText(f.Status)})
			return
		}
		falcon(w, 202, res)
	default:
		falcon(w, 404, nil, map[string]any{"code": 404, "message": "no such API"})
	}
}

package edrfake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// CarbonBlack fakes Carbon Black Cloud's platform device APIs for one
// organisation: POST /appservices/v6/orgs/{org}/devices/_search, GET
// /appservices/v6/orgs/{org}/devices/{id}, and POST
// /appservices/v6/orgs/{org}/device_actions with action_type QUARANTINE and
// options.toggle ON|OFF (204), authenticated by X-Auth-Token "secret/id".
type CarbonBlack struct {
	base
	OrgKey, APIID, APISecret string
}

// NewCarbonBlack returns a fake for one organisation and API key.
func NewCarbonBlack(org, apiID, apiSecret string) *CarbonBlack {
	return &CarbonBlack{base: newBase(), OrgKey: org, APIID: apiID, APISecret: apiSecret}
}

func (c *CarbonBlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, effect := c.fault(r)
	if f != nil && !effect {
		writeFault(w, f)
		return
	}
	if r.Header.Get("X-Auth-Token") != c.APISecret+"/"+c.APIID {
		writeJSON(w, 401, map[string]any{"success": false, "message": "Unauthorized"})
		return
	}
	prefix := "/appservices/v6/orgs/" + c.OrgKey
	path, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		writeJSON(w, 403, map[string]any{"success": false, "message": "Forbidden: wrong organisation"})
		return
	}
	switch {
	case r.Method == "POST" && path == "/devices/_search":
		var body struct {
			Query string `json:"query"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		res := []map[string]any{}
		name := strings.TrimPrefix(body.Query, "name:")
		if id, ok := c.lookup(name); ok {
			n, _ := strconv.ParseInt(id, 10, 64)
			res = append(res, map[string]any{"id": n, "name": name, "quarantined": c.Isolated(id)})
		}
		writeJSON(w, 200, map[string]any{"results": res, "num_found": len(res)})
	case r.Method == "GET" && strings.HasPrefix(path, "/devices/"):
		id := strings.TrimPrefix(path, "/devices/")
		if _, ok := c.lookup(id); !ok {
			writeJSON(w, 404, map[string]any{"success": false, "message": "device not found"})
			return
		}
		n, _ := strconv.ParseInt(id, 10, 64)
		writeJSON(w, 200, map[string]any{"id": n, "quarantined": c.Isolated(id)})
	case r.Method == "POST" && path == "/device_actions":
		var body struct {
			ActionType string   `json:"action_type"`
			DeviceID   []string `json:"device_id"`
			Options    struct {
				Toggle string `json:"toggle"`
			} `json:"options"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.ActionType != "QUARANTINE" || len(body.DeviceID) == 0 ||
			(body.Options.Toggle != "ON" && body.Options.Toggle != "OFF") {
			writeJSON(w, 400, map[string]any{"success": false, "message": "invalid device action"})
			return
		}
		for _, id := range body.DeviceID {
			if _, ok := c.lookup(id); !ok {
				writeJSON(w, 404, map[string]any{"success": false, "message": "device " + id + " not found"})
				return
			}
		}
		for _, id := range body.DeviceID {
			verb := "isolate"
			if body.Options.Toggle == "OFF" {
				verb = "release"
			}
			c.record(verb, id, body.Options.Toggle == "ON")
		}
		if f != nil {
			writeFault(w, f)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, 404, map[string]any{"success": false, "message": "no such API"})
	}
}

package edrfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Defender fakes Microsoft Defender for Endpoint: the Entra ID token
// endpoint (/{tenant}/oauth2/v2.0/token, client credentials) and the
// machine APIs — GET /api/machines?$filter=computerDnsName eq '…',
// POST /api/machines/{id}/isolate and /unisolate (201 with a
// MachineAction; 400 ActiveRequestAlreadyExists while one is pending is
// not modelled: actions complete at once), GET /api/machineactions?$filter=.
type Defender struct {
	base
	ClientID, ClientSecret string
	amu                    sync.Mutex
	actions                []map[string]any
}

// NewDefender returns a fake accepting the given client credentials.
func NewDefender(clientID, clientSecret string) *Defender {
	return &Defender{base: newBase(), ClientID: clientID, ClientSecret: clientSecret}
}

var defFilter = regexp.MustCompile(`(\w+) eq '([^']*)'`)

func (d *Defender) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		if r.Method != "POST" || r.FormValue("grant_type") != "client_credentials" || r.FormValue("client_id") != d.ClientID ||
			r.FormValue("client_secret") != d.ClientSecret || !strings.HasSuffix(r.FormValue("scope"), "/.default") {
			writeJSON(w, 401, map[string]string{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
			return
		}
		writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": d.issue()})
		return
	}
	f, effect := d.fault(r)
	if f != nil && !effect {
		writeFault(w, f)
		return
	}
	if !d.validBearer(r) {
		writeJSON(w, 401, map[string]any{"error": map[string]string{"code": "Unauthorized", "message": "Authorization token is invalid or expired"}})
		return
	}
	filters := map[string]string{}
	for _, m := range defFilter.FindAllStringSubmatch(r.URL.Query().Get("$filter"), -1) {
		filters[m[1]] = m[2]
	}
	path := strings.TrimPrefix(r.URL.Path, "/api/")
	switch {
	case r.Method == "GET" && path == "machines":
		var out []map[string]string
		if id, ok := d.lookup(filters["computerDnsName"]); ok {
			out = append(out, map[string]string{"id": id, "computerDnsName": filters["computerDnsName"]})
		}
		writeJSON(w, 200, map[string]any{"value": out})
	case r.Method == "POST" && strings.HasPrefix(path, "machines/") && (strings.HasSuffix(path, "/isolate") || strings.HasSuffix(path, "/unisolate")):
		parts := strings.Split(path, "/")
		id, verb := parts[1], parts[2]
		if _, ok := d.lookup(id); !ok {
			writeJSON(w, 404, map[string]any{"error": map[string]string{"code": "ResourceNotFound", "message": "Machine " + id + " was not found"}})
			return
		}
		var body struct {
			Comment       string
			IsolationType string
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Comment == "" {
			writeJSON(w, 400, map[string]any{"error": map[string]string{"code": "InvalidRequestBody", "message": "Comment is required"}})
			return
		}
		d.record(map[string]string{"isolate": "isolate", "unisolate": "release"}[verb], id, verb == "isolate")
		typ := map[string]string{"isolate": "Isolate", "unisolate": "Unisolate"}[verb]
		d.amu.Lock()
		a := map[string]any{"id": fmt.Sprintf("action-%d", len(d.actions)+1), "type": typ, "status": "Succeeded", "machineId": id,
			"requestorComment": body.Comment, "creationDateTimeUtc": time.Now().UTC().Format(time.RFC3339)}
		d.actions = append(d.actions, a)
		d.amu.Unlock()
		if f != nil {
			writeFault(w, f) // the action took effect, the answer is lost
			return
		}
		writeJSON(w, 201, a)
	case r.Method == "GET" && path == "machineactions":
		d.amu.Lock()
		out := []map[string]any{}
		for _, a := range d.actions {
			if (filters["machineId"] == "" || a["machineId"] == filters["machineId"]) && (filters["type"] == "" || a["type"] == filters["type"]) {
				out = append(out, a)
			}
		}
		d.amu.Unlock()
		writeJSON(w, 200, map[string]any{"value": out})
	default:
		writeJSON(w, 404, map[string]any{"error": map[string]string{"code": "NotFound", "message": "no such API " + r.Method + " " + r.URL.Path}})
	}
}

package web

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// tableOnly returns the route table of a server built without services,
// for tests that only read the table.
func tableOnly(t *testing.T) []route {
	t.Helper()
	s := NewServer(Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: prometheus.NewRegistry()})
	return s.routes
}

// documented reports whether a route belongs in the OpenAPI document: the
// JSON API and the operational endpoints machines call.
func documented(rt route) bool {
	return strings.HasPrefix(rt.Path, "/api/") || rt.Path == "/healthz" || rt.Path == "/metrics"
}

type openapiOp struct {
	OperationID string            `json:"operationId"`
	Summary     string            `json:"summary"`
	Parameters  []json.RawMessage `json:"parameters"`
	RequestBody json.RawMessage   `json:"requestBody"`
	Responses   map[string]any    `json:"responses"`
	Security    *[]any            `json:"security"`
}

type openapiDocument struct {
	OpenAPI    string                                `json:"openapi"`
	Info       struct{ Title, Version string }       `json:"info"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas    map[string]json.RawMessage `json:"schemas"`
		Parameters map[string]struct {
			Name string `json:"name"`
			In   string `json:"in"`
		} `json:"parameters"`
		Responses       map[string]json.RawMessage `json:"responses"`
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
			In     string `json:"in"`
			Name   string `json:"name"`
		} `json:"securitySchemes"`
	} `json:"components"`
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func parseOpenAPI(t *testing.T) openapiDocument {
	t.Helper()
	var doc openapiDocument
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	if doc.Info.Title == "" || doc.Info.Version == "" {
		t.Errorf("info: title %q, version %q; want both", doc.Info.Title, doc.Info.Version)
	}
	return doc
}

// operations returns the document's operations keyed "METHOD path".
func (d openapiDocument) operations(t *testing.T) map[string]openapiOp {
	t.Helper()
	ops := map[string]openapiOp{}
	for path, item := range d.Paths {
		for key, raw := range item {
			if !slices.Contains(httpMethods, key) {
				continue
			}
			var op openapiOp
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", key, path, err)
			}
			ops[strings.ToUpper(key)+" "+path] = op
		}
	}
	return ops
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := parseOpenAPI(t)
	ops := doc.operations(t)
	inTable := map[string]bool{}
	n := 0
	for _, rt := range tableOnly(t) {
		if !documented(rt) {
			continue
		}
		n++
		key := rt.Method + " " + rt.Path
		inTable[key] = true
		op, ok := ops[key]
		if !ok {
			t.Errorf("route %s is not in openapi.json", key)
			continue
		}
		if op.Summary != rt.Summary {
			t.Errorf("%s: openapi summary %q, route table %q; keep them the same", key, op.Summary, rt.Summary)
		}
		if len(op.Responses) == 0 {
			t.Errorf("%s: no responses documented", key)
		}
		public := rt.Auth == authNone
		if gotPublic := op.Security != nil && len(*op.Security) == 0; gotPublic != public {
			t.Errorf("%s: documented as public = %v, route table says public = %v", key, gotPublic, public)
		}
		if !public {
			for _, code := range []string{"401"} {
				if _, ok := op.Responses[code]; !ok {
					t.Errorf("%s: response %s not documented", key, code)
				}
			}
		}
		if rt.Auth == authPerm {
			if _, ok := op.Responses["403"]; !ok {
				t.Errorf("%s: needs %s but response 403 is not documented", key, rt.Perm)
			}
		}
		if (rt.Method == "POST" || rt.Method == "PATCH" || rt.Method == "PUT") && len(op.RequestBody) == 0 {
			t.Errorf("%s: no request body documented", key)
		}
	}
	if n < 3 {
		t.Fatalf("only %d API routes in the table; the test is not looking at the right table", n)
	}
	for key := range ops {
		if !inTable[key] {
			t.Errorf("openapi.json documents %s, which is not in routeTable()", key)
		}
	}
	ids := map[string]string{}
	for key, op := range ops {
		if op.OperationID == "" {
			t.Errorf("%s: no operationId", key)
		} else if other, dup := ids[op.OperationID]; dup {
			t.Errorf("operationId %q used by %s and %s", op.OperationID, other, key)
		}
		ids[op.OperationID] = key
	}
}

var pathParamRE = regexp.MustCompile(`\{([^}]+)\}`)

// TestOpenAPIPathParameters checks that every {name} in a documented path is
// declared as a path parameter, at the path or the operation.
func TestOpenAPIPathParameters(t *testing.T) {
	doc := parseOpenAPI(t)
	resolve := func(raw json.RawMessage) (name, in string) {
		var p struct {
			Ref  string `json:"$ref"`
			Name string `json:"name"`
			In   string `json:"in"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatalf("parameter %s: %v", raw, err)
		}
		if p.Ref != "" {
			c, ok := doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
			if !ok {
				t.Errorf("parameter reference %s does not resolve", p.Ref)
			}
			return c.Name, c.In
		}
		return p.Name, p.In
	}
	for path, item := range doc.Paths {
		var shared []json.RawMessage
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				t.Fatalf("%s parameters: %v", path, err)
			}
		}
		for key, op := range doc.operations(t) {
			if !strings.HasSuffix(key, " "+path) {
				continue
			}
			declared := map[string]bool{}
			for _, raw := range append(slices.Clone(shared), op.Parameters...) {
				if name, in := resolve(raw); in == "path" {
					declared[name] = true
				}
			}
			for _, m := range pathParamRE.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("%s: path parameter %q not declared", key, m[1])
				}
			}
		}
	}
}

// TestOpenAPIReferencesResolve walks the document and checks every $ref
// points at a component that exists.
func TestOpenAPIReferencesResolve(t *testing.T) {
	var tree any
	if err := json.Unmarshal(openapiDoc, &tree); err != nil {
		t.Fatal(err)
	}
	components := tree.(map[string]any)["components"].(map[string]any)
	var walk func(where string, v any)
	refs := 0
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "$ref" {
					refs++
					s, _ := x.(string)
					parts := strings.Split(strings.TrimPrefix(s, "#/components/"), "/")
					if !strings.HasPrefix(s, "#/components/") || len(parts) != 2 {
						t.Errorf("%s: $ref %q is not a local component reference", where, s)
						continue
					}
					group, _ := components[parts[0]].(map[string]any)
					if _, ok := group[parts[1]]; !ok {
						t.Errorf("%s: $ref %q does not resolve", where, s)
					}
					continue
				}
				walk(where+"/"+k, x)
			}
		case []any:
			for _, x := range v {
				walk(where, x)
			}
		}
	}
	walk("#", tree)
	if refs == 0 {
		t.Fatal("no $ref found; the document has no shared schemas")
	}
}

// TestOpenAPIContract checks the parts of the contract clients rely on: the
// shared shapes exist with their fields, and both ways of authenticating are
// described.
func TestOpenAPIContract(t *testing.T) {
	doc := parseOpenAPI(t)
	want := map[string][]string{
		"Tenant":         {"id", "name", "country", "language", "time_zone", "contacts"},
		"Contact":        {"name", "email"},
		"User":           {"id", "username", "role", "tenant_id", "disabled"},
		"Token":          {"id", "name", "role", "prefix", "revoked"},
		"AuditEntry":     {"id", "time", "actor", "addr", "action", "object_id", "before", "after"},
		"Error":          {"error"},
		"TenantList":     {"items", "total", "limit", "offset"},
		"UserList":       {"items", "total", "limit", "offset"},
		"TokenList":      {"items", "total", "limit", "offset"},
		"AuditEntryList": {"items", "total", "limit", "offset"},
	}
	for name, fields := range want {
		raw, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s missing", name)
			continue
		}
		var s struct {
			Properties map[string]any `json:"properties"`
		}
		json.Unmarshal(raw, &s)
		for _, f := range fields {
			if _, ok := s.Properties[f]; !ok {
				t.Errorf("schema %s: property %s missing", name, f)
			}
		}
	}
	if !strings.Contains(string(doc.Components.Schemas["NewToken"]), `"secret"`) {
		t.Errorf("schema NewToken does not carry the secret")
	}
	bearer, cookie := false, false
	for _, s := range doc.Components.SecuritySchemes {
		bearer = bearer || (s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"))
		cookie = cookie || (s.Type == "apiKey" && s.In == "cookie" && s.Name == sessionCookie)
	}
	if !bearer || !cookie {
		t.Errorf("security schemes: bearer %v, session cookie %q %v; want both", bearer, sessionCookie, cookie)
	}
}

// TestOpenAPIServed checks the document is served as written.
func TestOpenAPIServed(t *testing.T) {
	s := NewServer(Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: prometheus.NewRegistry()})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if rec.Body.String() != string(openapiDoc) {
		t.Errorf("served document differs from openapi.json")
	}
}

package collect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// esVersion is the Elasticsearch version Tansa's _bulk endpoint answers as;
// Beats, Logstash, Fluent Bit and Vector check it before sending.
const esVersion = "8.11.0"

func writeES(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Elastic-Product", "Elasticsearch") // official clients refuse a server without it
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ESError answers err in Elasticsearch's error shape.
func ESError(w http.ResponseWriter, err error) {
	status, typ := http.StatusInternalServerError, "internal_server_error"
	switch tansa.KindOf(err) {
	case tansa.Unauthorized:
		status, typ = http.StatusUnauthorized, "security_exception"
		w.Header().Set("WWW-Authenticate", `Bearer realm="tansa", Basic realm="tansa"`)
	case tansa.Forbidden:
		status, typ = http.StatusForbidden, "security_exception"
	case tansa.Unavailable, tansa.TooMany:
		// 429 is what shippers retry with back-off.
		status, typ = http.StatusTooManyRequests, "es_rejected_execution_exception"
	case tansa.TooLarge:
		status, typ = http.StatusRequestEntityTooLarge, "content_too_long_exception"
	case tansa.Invalid:
		status, typ = http.StatusBadRequest, "illegal_argument_exception"
	}
	reason := tansa.MessageOf(err)
	writeES(w, status, map[string]any{"error": map[string]any{"type": typ, "reason": reason, "root_cause": []any{map[string]any{"type": typ, "reason": reason}}}, "status": status})
}

// ESInfo serves GET / of the Elasticsearch-compatible API.
func (in *Inputs) ESInfo(w http.ResponseWriter, r *http.Request) {
	writeES(w, http.StatusOK, map[string]any{
		"name": "tansa", "cluster_name": "tansa", "cluster_uuid": "tansa",
		"version": map[string]any{"number": esVersion, "build_flavor": "default", "lucene_version": "9.8.0",
			"minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0"},
		"tagline": "You Know, for Search",
	})
}

// ESAccept answers the set-up calls shippers make before sending (index
// templates, ILM policies, licence checks) with success: Tansa decides its
// own storage, so there is nothing to set up.
func (in *Inputs) ESAccept(w http.ResponseWriter, r *http.Request) {
	writeES(w, http.StatusOK, map[string]any{"acknowledged": true})
}

type bulkAction struct {
	Index string `json:"_index"`
	ID    string `json:"_id"`
}

// ESBulk serves POST /_bulk and /{index}/_bulk: NDJSON pairs of an action
// line and a document. index and create store the document as a record;
// update and delete are refused per item, as an append-only event store
// must. It answers only after every accepted item is persisted.
func (in *Inputs) ESBulk(w http.ResponseWriter, r *http.Request, tenant, defaultIndex string) {
	start := in.now()
	if err := in.admit("bulk", tenant); err != nil {
		ESError(w, err)
		return
	}
	body, err := hecBody(r)
	if err != nil {
		ESError(w, err)
		return
	}
	key := requestKey([]byte(tenant), []byte(r.URL.Path), body)
	now := start.UTC()
	type item map[string]any
	var (
		items  []item
		recs   []Record
		errors bool
		line   int
	)
	rest := body
	next := func() ([]byte, bool) {
		for len(rest) > 0 {
			var b []byte
			b, rest = cutLine(rest)
			line++
			if b = bytes.TrimSpace(b); len(b) > 0 {
				return b, true
			}
		}
		return nil, false
	}
	for {
		actionLine, ok := next()
		if !ok {
			break
		}
		var action map[string]bulkAction
		if err := json.Unmarshal(actionLine, &action); err != nil || len(action) != 1 {
			ESError(w, tansa.Errorf(tansa.Invalid, "line %d: malformed action, expected {\"index\": {…}}", line))
			return
		}
		for op, meta := range action {
			index := meta.Index
			if index == "" {
				index = defaultIndex
			}
			switch op {
			case "index", "create":
				doc, ok := next()
				if !ok {
					ESError(w, tansa.Errorf(tansa.Invalid, "line %d: %s action without a document", line, op))
					return
				}
				if !json.Valid(doc) {
					errors = true
					items = append(items, item{op: map[string]any{"_index": index, "status": 400,
						"error": map[string]any{"type": "mapper_parsing_exception", "reason": fmt.Sprintf("line %d: the document is not JSON", line)}}})
					continue
				}
				id := meta.ID
				if id == "" {
					id = fmt.Sprintf("%s-%d", key[:16], len(items))
				}
				src := "bulk"
				if index != "" {
					src = "bulk:" + index
				}
				// The index names the shipper's data: winlogbeat-* holds
				// Windows events, which the Windows parser reads.
				recs = append(recs, Record{Source: src, Hint: index, Received: now, Raw: doc})
				items = append(items, item{op: map[string]any{"_index": index, "_id": id, "_version": 1, "result": "created",
					"status": 201, "_seq_no": len(items), "_primary_term": 1,
					"_shards": map[string]int{"total": 1, "successful": 1, "failed": 0}}})
			case "update", "delete":
				if op == "update" {
					next() // its document line
				}
				errors = true
				items = append(items, item{op: map[string]any{"_index": index, "_id": meta.ID, "status": 400,
					"error": map[string]any{"type": "illegal_argument_exception", "reason": "Tansa keeps events append-only: " + op + " is not accepted"}}})
			default:
				ESError(w, tansa.Errorf(tansa.Invalid, "line %d: unknown action %q", line, op))
				return
			}
		}
	}
	if len(recs) > 0 {
		if err := in.Publish(r.Context(), "bulk", tenant, key, recs); err != nil {
			ESError(w, err)
			return
		}
	}
	writeES(w, http.StatusOK, map[string]any{"took": time.Since(start).Milliseconds(), "errors": errors, "items": items})
}

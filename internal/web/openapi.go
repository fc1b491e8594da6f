package web

import (
	_ "embed"
	"net/http"
)

// openapiDoc is the API's OpenAPI 3 document, written by hand so that it
// carries real schemas and prose; a test checks it against routeTable.
//
//go:embed openapi.json
var openapiDoc []byte

func (s *Server) apiOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openapiDoc)
}

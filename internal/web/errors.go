package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/tansa-sec/tansa/internal/tansa"
)

var (
	errInternal    = errors.New("internal error")
	errCrossOrigin = tansa.Errorf(tansa.Forbidden, "cross-origin request refused")
	errNoRoute     = tansa.Errorf(tansa.NotFound, "no such page or API route")
)

func statusOf(k tansa.Kind) int {
	switch k {
	case tansa.Invalid:
		return http.StatusBadRequest
	case tansa.NotFound:
		return http.StatusNotFound
	case tansa.Conflict:
		return http.StatusConflict
	case tansa.Unauthorized:
		return http.StatusUnauthorized
	case tansa.Forbidden:
		return http.StatusForbidden
	case tansa.TooMany:
		return http.StatusTooManyRequests
	case tansa.Unavailable:
		return http.StatusServiceUnavailable
	case tansa.TooLarge:
		return http.StatusRequestEntityTooLarge
	case tansa.MethodNotAllowed:
		return http.StatusMethodNotAllowed
	}
	return http.StatusInternalServerError
}

// apiError is the one error shape of the API.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError maps err to a status and the API's error shape. Internal
// errors are logged with their detail and shown only as "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	k := tansa.KindOf(err)
	if k == tansa.Internal {
		s.deps.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var body apiError
	body.Error.Code = k.String()
	body.Error.Message = tansa.MessageOf(err)
	if k == tansa.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tansa"`)
	}
	writeJSON(w, statusOf(k), body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

func isAPIPath(p string) bool { return strings.HasPrefix(p, "/api/") }

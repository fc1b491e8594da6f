package web

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// sessionCookie is the console's session cookie. Its value is a random
// secret; only its hash is stored.
const sessionCookie = "tansa_session"

// authorize authenticates r as the route requires and checks the route's
// permission. It is the one place where access to a route is decided.
func (s *Server) authorize(r *http.Request, rt route) (*http.Request, error) {
	if rt.Auth == authNone {
		// Public routes still learn who is calling when a session exists,
		// so the login page can send a logged-in user onwards.
		if c, err := r.Cookie(sessionCookie); err == nil {
			if p, err := s.deps.Access.SessionPrincipal(r.Context(), c.Value); err == nil {
				r = withPrincipal(r, p)
			}
		}
		return r, nil
	}
	p, err := s.authenticate(r, rt)
	if err != nil {
		return r, err
	}
	r = withPrincipal(r, p)
	if rt.Auth == authPerm && !p.Can(rt.Perm) {
		return r, tansa.Errorf(tansa.Forbidden, "your role %s may not do this (needs %s)", p.Role, rt.Perm)
	}
	return r, nil
}

func (s *Server) authenticate(r *http.Request, rt route) (access.Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" && !rt.Page {
		secret, ok := tokenFromHeader(h)
		if !ok {
			return access.Principal{}, tansa.Errorf(tansa.Unauthorized, "the Authorization header must be \"Bearer <token>\"")
		}
		return s.deps.Access.TokenPrincipal(r.Context(), secret)
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return access.Principal{}, tansa.Errorf(tansa.Unauthorized, "log in or give an API token as \"Authorization: Bearer <token>\"")
	}
	return s.deps.Access.SessionPrincipal(r.Context(), c.Value)
}

// setSession sets or clears (empty value) the session cookie. Its lifetime
// is the browser session; the server enforces idle and absolute expiry.
func (s *Server) setSession(w http.ResponseWriter, value string) {
	c := &http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: s.deps.Secure, SameSite: http.SameSiteLaxMode}
	if value == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// tokenFromHeader reads an API token from an Authorization header in the
// schemes shippers speak: "Bearer <token>"; Splunk HEC's "Splunk <token>";
// HTTP Basic with the token as password (Logstash, Vector, NXLog); and
// Elasticsearch's "ApiKey base64(id:key)" with the token as key (Beats).
func tokenFromHeader(h string) (string, bool) {
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok {
		return "", false
	}
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "bearer", "splunk":
		return cred, cred != ""
	case "basic", "apikey":
		b, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return "", false
		}
		_, secret, ok := strings.Cut(string(b), ":")
		return secret, ok && secret != ""
	}
	return "", false
}

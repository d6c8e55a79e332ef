package web

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"

	"ferry/backend/api/wire"
	"ferry/backend/bits"
)

// guard checks every request before it reaches the site: the Host header
// must be an IP address or localhost. DNS rebinding points a name the
// attacker owns at 127.0.0.1, so that a page from that name may talk to us
// "same-origin"; its requests then carry that name, never an IP literal, and
// are refused here. The static files pass with that check alone: they hold
// no secret. The API needs more (see api).
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		if !allowedHost(r.Host) {
			s.log.Warn("web: refused a request for a foreign host name", "host", r.Host)
			refuse(w, r, http.StatusForbidden, "This address is served to IP addresses and localhost only.")
			return
		}
		expireTokenCookies(w, r)
		next.ServeHTTP(w, r)
	})
}

// api guards an API handler:
//
//  1. The token, in an Authorization: Bearer header and nowhere else. The
//     page keeps it in its tab (sessionStorage) and sends it itself. Never a
//     cookie: browsers do not separate cookies by port, so any other server
//     on 127.0.0.1 the user visits would receive it. Never the query: it
//     would end up in logs and history. Without it: 401.
//  2. A call must be JSON and, when the browser names its origin, come from
//     this very origin: a form on another site cannot post JSON without a
//     CORS preflight, which is never answered.
func (s *Server) api(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.validToken(bearer(r)) {
			refuse(w, r, http.StatusUnauthorized, "Open the address that `ferry web` printed: it carries the access token.")
			return
		}
		if r.Method == http.MethodPost {
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				refuse(w, r, http.StatusUnsupportedMediaType, "Calls are JSON (Content-Type: application/json).")
				return
			}
			if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
				refuse(w, r, http.StatusForbidden, "Calls from another origin are refused.")
				return
			}
		}
		next(w, r)
	})
}

func (s *Server) validToken(t string) bool {
	return t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(s.token)) == 1
}

func bearer(r *http.Request) string {
	t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(t)
}

// tokenCookiePrefix names the cookies that earlier versions kept the token
// in (ferry_token_<port>).
const tokenCookiePrefix = "ferry_token_"

// expireTokenCookies deletes the token cookies of earlier versions that the
// browser still sends: they are never read, and as long as the browser keeps
// them it hands them to every server on this host. Any port's cookie is
// ours to delete, since every port receives them all.
func expireTokenCookies(w http.ResponseWriter, r *http.Request) {
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, tokenCookiePrefix) {
			http.SetCookie(w, &http.Cookie{Name: c.Name, Value: "", Path: "/", MaxAge: -1,
				HttpOnly: true, SameSite: http.SameSiteStrictMode})
		}
	}
}

// allowedHost accepts an IP literal (with or without a port, IPv6 in
// brackets), localhost and names under .localhost, which resolve to
// loopback by definition (RFC 6761) and cannot be rebound.
func allowedHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return false
	}
	if net.ParseIP(host) != nil {
		return true
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	// The UI is self-contained: no third-party script, frame or request.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// refuse answers a refused request in the form its caller reads: JSON for
// the API (the UI shows the message), a short page for a browser tab.
func refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		// A refusal by this server, not the engine: its own status (401,
		// 403, 415) with the engine's error shape.
		wire.WriteJSON(w, status, wire.Reply{Error: wire.Body(bits.Errorf(bits.E_ACCESSDENIED, "%s", msg))})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte("<!doctype html><meta charset=utf-8><title>Ferry</title><p>" + htmlEscape(msg) + "</p>\n"))
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

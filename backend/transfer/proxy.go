package transfer

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpproxy"

	"ferry/backend/bits"
	"ferry/backend/pac"
)

// ProxySelector picks the proxy of one request (nil URL: connect directly),
// in the shape of http.Transport.Proxy.
type ProxySelector func(*http.Request) (*url.URL, error)

// ProxyFunc turns a job's proxy settings into a selector.
//
//   - PRECONFIG: HTTP_PROXY / HTTPS_PROXY / NO_PROXY, read on every request
//     (unlike http.ProxyFromEnvironment, which caches them for the process).
//     Like every Go client it never proxies loopback addresses.
//   - AUTODETECT: WPAD finds a PAC file and its FindProxyForURL picks the
//     proxy of each request (backend/pac); none found, or a script that
//     fails or runs too long, is a direct connection.
//   - NO_PROXY: always direct.
//   - OVERRIDE: BITS' proxy and bypass lists (parseProxyList); unlike
//     PRECONFIG, loopback hosts go through the proxy unless bypassed.
//
// A bad OVERRIDE list is a fatal BG_E_INVALID_PROXY_INFO *Error: as in BITS,
// SetProxySettings accepts it and the job fails when it runs.
func ProxyFunc(ps bits.ProxySettings) (ProxySelector, error) {
	switch ps.Usage {
	case bits.ProxyNoProxy:
		return func(*http.Request) (*url.URL, error) { return nil, nil }, nil
	case bits.ProxyOverride:
		pl, err := parseProxyList(ps.List, ps.Bypass)
		if err != nil {
			return nil, &Error{Code: bits.BG_E_INVALID_PROXY_INFO, Context: bits.ContextGeneralTransport, Protocol: "http", Err: err}
		}
		return pl.selectProxy, nil
	case bits.ProxyAutodetect:
		return func(r *http.Request) (*url.URL, error) { return autodetect.Proxy(r.Context(), r.URL) }, nil
	default: // PRECONFIG
		return func(r *http.Request) (*url.URL, error) {
			return httpproxy.FromEnvironment().ProxyFunc()(r.URL)
		}, nil
	}
}

// autodetect is the process's WPAD and PAC state, shared by every job as
// the OS's auto-proxy service is: one discovery, one cached script.
var autodetect = &pac.Auto{}

// proxyList is a parsed OVERRIDE setting. Where BITS would fail over between
// several proxies of one kind, we use the first.
type proxyList struct {
	http, https, fallback *url.URL
	bypass                []bypassRule
}

type bypassRule struct {
	local  bool   // <local>: host names without a dot
	suffix string // "*.example.com" ⇒ ".example.com"; "*" ⇒ ""
	wild   bool   // suffix rule
	host   string // exact host (lower case, IPv6 without brackets)
	port   string // optional port of an exact rule
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == ',' || r == ';' || r == '\t' || r == '\r' || r == '\n'
	})
}

func invalidProxy(format string, args ...any) error {
	return bits.Errorf(bits.BG_E_INVALID_PROXY_INFO, format, args...)
}

func parseProxyList(list, bypass string) (*proxyList, error) {
	pl := &proxyList{}
	entries := splitList(list)
	if len(entries) == 0 {
		return nil, invalidProxy("the proxy list is empty")
	}
	for _, e := range entries {
		target := ""
		rest := e
		if i := strings.Index(e, "="); i >= 0 {
			target, rest = strings.ToLower(e[:i]), e[i+1:]
		}
		u, err := parseProxyEntry(rest)
		if err != nil {
			return nil, invalidProxy("proxy entry %q: %v", e, err)
		}
		switch target {
		case "":
			if pl.fallback == nil {
				pl.fallback = u
			}
		case "http":
			if pl.http == nil {
				pl.http = u
			}
		case "https":
			if pl.https == nil {
				pl.https = u
			}
		case "ftp", "socks":
			// Valid in WinHTTP lists; Ferry transfers neither, so they are ignored.
		default:
			return nil, invalidProxy("proxy entry %q: unknown scheme %q", e, target)
		}
	}
	for _, b := range splitList(bypass) {
		r, err := parseBypass(b)
		if err != nil {
			return nil, invalidProxy("bypass entry %q: %v", b, err)
		}
		pl.bypass = append(pl.bypass, r)
	}
	return pl, nil
}

// parseProxyEntry parses [scheme://]host[:port]; the default port is 80.
func parseProxyEntry(s string) (*url.URL, error) {
	scheme := "http"
	if i := strings.Index(s, "://"); i >= 0 {
		scheme, s = strings.ToLower(s[:i]), s[i+3:]
		if scheme != "http" && scheme != "https" {
			return nil, fmt.Errorf("unsupported proxy scheme %q", scheme)
		}
	}
	s = strings.TrimSuffix(s, "/")
	host, port, err := splitHostPort(s)
	if err != nil {
		return nil, err
	}
	if port == "" {
		port = "80"
	}
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port)}, nil
}

// splitHostPort accepts host, host:port, [v6] and [v6]:port, and checks the
// characters of host and the range of port.
func splitHostPort(s string) (host, port string, err error) {
	switch {
	case s == "":
		return "", "", fmt.Errorf("empty host")
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return "", "", fmt.Errorf("unclosed '['")
		}
		host, rest := s[1:end], s[end+1:]
		if net.ParseIP(host) == nil {
			return "", "", fmt.Errorf("bad IPv6 address %q", host)
		}
		if rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return "", "", fmt.Errorf("junk after ']'")
			}
			port = rest[1:]
		}
		if port != "" && !validPort(port) {
			return "", "", fmt.Errorf("bad port %q", port)
		}
		return strings.ToLower(host), port, nil
	}
	host = s
	if i := strings.LastIndex(s, ":"); i >= 0 {
		host, port = s[:i], s[i+1:]
		if !validPort(port) {
			return "", "", fmt.Errorf("bad port %q", port)
		}
	}
	if !validHostName(host) {
		return "", "", fmt.Errorf("bad host %q", host)
	}
	return strings.ToLower(host), port, nil
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n <= 65535 && p[0] != '+'
}

func validHostName(h string) bool {
	if h == "" || strings.HasPrefix(h, ".") || strings.Contains(h, "..") {
		return false
	}
	for _, c := range h {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

func parseBypass(s string) (bypassRule, error) {
	if strings.EqualFold(s, "<local>") {
		return bypassRule{local: true}, nil
	}
	if rest, ok := strings.CutPrefix(s, "*"); ok {
		// Only leading wildcards exist in BITS ("aaa.*" is not supported).
		if strings.Contains(rest, "*") || (rest != "" && !validHostName(strings.TrimPrefix(rest, "."))) {
			return bypassRule{}, fmt.Errorf("only a leading wildcard is supported")
		}
		return bypassRule{wild: true, suffix: strings.ToLower(rest)}, nil
	}
	if strings.Contains(s, "*") {
		return bypassRule{}, fmt.Errorf("only a leading wildcard is supported")
	}
	host, port, err := splitHostPort(s)
	if err != nil {
		return bypassRule{}, err
	}
	return bypassRule{host: host, port: port}, nil
}

func (r bypassRule) match(host, port string) bool {
	switch {
	case r.local:
		return !strings.Contains(host, ".") && !strings.Contains(host, ":")
	case r.wild:
		return strings.HasSuffix(host, r.suffix)
	}
	return host == r.host && (r.port == "" || r.port == port)
}

func (pl *proxyList) selectProxy(r *http.Request) (*url.URL, error) {
	host := strings.ToLower(r.URL.Hostname())
	port := r.URL.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[r.URL.Scheme]
	}
	for _, b := range pl.bypass {
		if b.match(host, port) {
			return nil, nil
		}
	}
	p := pl.fallback
	switch r.URL.Scheme {
	case "http":
		if pl.http != nil {
			p = pl.http
		}
	case "https":
		if pl.https != nil {
			p = pl.https
		}
	}
	if p == nil {
		return nil, nil
	}
	c := *p // callers may add credentials to their copy
	return &c, nil
}

package pac

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Cache rules: a PAC file found is kept for keepFound (or what its
// Cache-Control max-age says, up to a day), a failed discovery is
// remembered for keepMissing, so that jobs do not each repeat the DNS
// look-ups and fetches; after either, the next request discovers again.
const (
	keepFound   = 30 * time.Minute
	keepMissing = 5 * time.Minute
	maxKeep     = 24 * time.Hour
	fetchLimit  = 10 * time.Second
)

// Environment variables that replace discovery (documented in README):
// FERRY_PAC_URL names the PAC file; FERRY_WPAD_DOMAIN is the domain DNS
// discovery starts from instead of resolv.conf's search domain.
const (
	EnvPACURL     = "FERRY_PAC_URL"
	EnvWPADDomain = "FERRY_WPAD_DOMAIN"
)

// Auto finds the PAC file by WPAD and answers which proxy a URL takes.
type Auto struct {
	Log *slog.Logger
	Env Env
	// Client fetches PAC files, never through a proxy; nil: a direct client.
	Client *http.Client
	// LookupHost checks that a wpad.DOMAIN name exists; nil: the resolver.
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// ResolvConf is read for the search domain; "": /etc/resolv.conf.
	ResolvConf string
	Now        func() time.Time

	mu      sync.Mutex
	script  *Script
	source  string
	expires time.Time
	loading chan struct{} // closed when a discovery in flight ends
}

// Proxy is the proxy for u: nil for a direct connection, which is also the
// answer when no PAC file is found or the script fails (as WinHTTP's
// auto-proxy falls back to direct).
func (a *Auto) Proxy(ctx context.Context, u *url.URL) (*url.URL, error) {
	s, err := a.current(ctx)
	if err != nil || s == nil {
		return nil, err
	}
	res, err := s.FindProxy(ctx, u)
	if err != nil {
		a.log().Warn("proxy auto-config failed; connecting directly", "err", err)
		return nil, nil
	}
	// Go's transport takes one proxy per request: the first choice.
	if cs := ParseResult(res); len(cs) > 0 && !cs[0].Direct {
		return cs[0].Proxy, nil
	}
	return nil, nil
}

func (a *Auto) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

func (a *Auto) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// current is the cached script, discovering it again once expired; one
// discovery runs at a time and the other callers wait for it.
func (a *Auto) current(ctx context.Context) (*Script, error) {
	for {
		a.mu.Lock()
		if a.loading == nil && a.now().Before(a.expires) {
			s := a.script
			a.mu.Unlock()
			return s, nil
		}
		if wait := a.loading; wait != nil {
			a.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		done := make(chan struct{})
		a.loading = done
		a.mu.Unlock()

		s, src, keep := a.discover(ctx)
		a.mu.Lock()
		a.script, a.source, a.expires, a.loading = s, src, a.now().Add(keep), nil
		a.mu.Unlock()
		close(done)
		return s, nil
	}
}

// Invalidate forgets the PAC file (the network changed).
func (a *Auto) Invalidate() {
	a.mu.Lock()
	a.expires = time.Time{}
	a.mu.Unlock()
}

// discover finds and compiles the PAC file: FERRY_PAC_URL, else DNS WPAD
// (http://wpad.DOMAIN/wpad.dat for the search domain and its parents,
// never a top-level wpad.TLD). DHCP's option 252 is not asked: on Linux
// only the DHCP client knows it, and none offers it to other programs.
func (a *Auto) discover(ctx context.Context) (*Script, string, time.Duration) {
	var candidates []string
	if u := os.Getenv(EnvPACURL); u != "" {
		candidates = []string{u}
	} else {
		for _, d := range a.domains() {
			candidates = append(candidates, "http://wpad."+d+"/wpad.dat")
		}
	}
	for _, c := range candidates {
		s, keep, err := a.fetch(ctx, c)
		if err != nil {
			a.log().Info("no proxy auto-config here", "url", c, "err", err)
			continue
		}
		a.log().Info("proxy auto-config found", "url", c, "kept", keep.String())
		return s, c, keep
	}
	if len(candidates) == 0 {
		a.log().Info("proxy auto-detection: no search domain, connecting directly")
	}
	return nil, "", keepMissing
}

// domains are the search domain and its parents with at least two labels
// (corp.example.com, example.com): wpad.com would be anyone's.
func (a *Auto) domains() []string {
	d := os.Getenv(EnvWPADDomain)
	if d == "" {
		d = searchDomain(a.ResolvConf)
	}
	d = strings.Trim(strings.ToLower(d), ".")
	var out []string
	for strings.Count(d, ".") >= 1 {
		out = append(out, d)
		d = d[strings.Index(d, ".")+1:]
	}
	return out
}

// searchDomain is the first domain of resolv.conf's search (or domain) line.
func searchDomain(path string) string {
	if path == "" {
		path = "/etc/resolv.conf"
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var domain string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "search":
			return f[1]
		case "domain":
			domain = f[1]
		}
	}
	return domain
}

func (a *Auto) fetch(ctx context.Context, pacURL string) (*Script, time.Duration, error) {
	u, err := url.Parse(pacURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, 0, fmt.Errorf("%q is not an http(s) URL", pacURL)
	}
	ctx, cancel := context.WithTimeout(ctx, fetchLimit)
	defer cancel()
	if os.Getenv(EnvPACURL) == "" {
		lookup := a.LookupHost
		if lookup == nil {
			lookup = net.DefaultResolver.LookupHost
		}
		if _, err := lookup(ctx, u.Hostname()); err != nil {
			return nil, 0, err
		}
	}
	client := a.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: fetchLimit}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pacURL, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxScript+1))
	if err != nil {
		return nil, 0, err
	}
	if len(body) > maxScript {
		return nil, 0, errors.New("the PAC file is larger than 1 MiB")
	}
	s, err := Compile(string(body), a.Env)
	if err != nil {
		return nil, 0, err
	}
	return s, keepFor(resp.Header.Get("Cache-Control")), nil
}

// keepFor is how long a fetched PAC file is kept: its Cache-Control max-age
// (at least a minute, at most maxKeep; no-cache or no-store: a minute),
// else keepFound.
func keepFor(cc string) time.Duration {
	for _, d := range strings.Split(strings.ToLower(cc), ",") {
		d = strings.TrimSpace(d)
		if d == "no-cache" || d == "no-store" {
			return time.Minute
		}
		if v, ok := strings.CutPrefix(d, "max-age="); ok {
			var n int
			if _, err := fmt.Sscanf(v, "%d", &n); err == nil && n >= 0 {
				k := time.Duration(n) * time.Second
				return min(max(k, time.Minute), maxKeep)
			}
		}
	}
	return keepFound
}

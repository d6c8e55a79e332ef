package pac

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// wpadWorld: a web server that plays every wpad.* host, a DNS that knows
// only the names given, and a clock the test moves.
type wpadWorld struct {
	auto    *Auto
	fetches atomic.Int32
	mu      sync.Mutex
	lookups []string
	now     time.Time
}

func newWPADWorld(t *testing.T, known map[string]bool, script, cacheControl string) *wpadWorld {
	w := &wpadWorld{now: time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/wpad.dat" || !known[r.Host] {
			http.NotFound(rw, r)
			return
		}
		w.fetches.Add(1)
		rw.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		if cacheControl != "" {
			rw.Header().Set("Cache-Control", cacheControl)
		}
		rw.Write([]byte(script))
	}))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	w.auto = &Auto{
		Env: testEnv(),
		Client: &http.Client{Transport: &http.Transport{Proxy: nil,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}},
		LookupHost: func(_ context.Context, host string) ([]string, error) {
			w.mu.Lock()
			w.lookups = append(w.lookups, host)
			w.mu.Unlock()
			if known[host] {
				return []string{"127.0.0.1"}, nil
			}
			return nil, errors.New("no such host")
		},
		ResolvConf: filepath.Join(t.TempDir(), "none"),
		Now:        func() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now },
	}
	return w
}

func (w *wpadWorld) advance(d time.Duration) { w.mu.Lock(); w.now = w.now.Add(d); w.mu.Unlock() }

func (w *wpadWorld) proxy(t *testing.T, target string) string {
	t.Helper()
	u, _ := url.Parse(target)
	p, err := w.auto.Proxy(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	if p == nil {
		return "DIRECT"
	}
	return p.String()
}

const corpPAC = `function FindProxyForURL(url, host) {
  if (isPlainHostName(host) || dnsDomainIs(host, ".corp.example")) return "DIRECT";
  return "PROXY proxy.corp.example:3128; DIRECT";
}`

// TestWPADByDNS: discovery walks from the search domain up to its parents
// (never a bare wpad.TLD), the PAC file found decides per URL, and it is
// kept for its max-age.
func TestWPADByDNS(t *testing.T) {
	t.Setenv(EnvWPADDomain, "lab.corp.example")
	t.Setenv(EnvPACURL, "")
	w := newWPADWorld(t, map[string]bool{"wpad.corp.example": true}, corpPAC, "max-age=120")
	if got := w.proxy(t, "http://downloads.vendor.example/a.iso"); got != "http://proxy.corp.example:3128" {
		t.Fatalf("external host: %s", got)
	}
	if got := w.proxy(t, "https://www.corp.example/b"); got != "DIRECT" {
		t.Fatalf("internal host: %s", got)
	}
	if got := strings.Join(w.lookups, " "); got != "wpad.lab.corp.example wpad.corp.example" {
		t.Fatalf("looked up %s", got)
	}
	w.advance(100 * time.Second)
	w.proxy(t, "http://x.example/")
	if n := w.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within max-age", n)
	}
	w.advance(30 * time.Second)
	w.proxy(t, "http://x.example/")
	if n := w.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after max-age", n)
	}
}

// TestWPADNotFound: no PAC file means direct connections, and the failed
// discovery is not repeated for every request.
func TestWPADNotFound(t *testing.T) {
	t.Setenv(EnvWPADDomain, "home.example")
	t.Setenv(EnvPACURL, "")
	w := newWPADWorld(t, map[string]bool{}, corpPAC, "")
	for range 3 {
		if got := w.proxy(t, "http://x.example/"); got != "DIRECT" {
			t.Fatalf("no PAC: %s", got)
		}
	}
	if got := strings.Join(w.lookups, " "); got != "wpad.home.example" {
		t.Fatalf("looked up %q (wpad.example would be anyone's)", got)
	}
	w.advance(keepMissing + time.Second)
	w.proxy(t, "http://x.example/")
	if len(w.lookups) != 2 {
		t.Fatalf("lookups %v after the negative cache expired", w.lookups)
	}
}

// TestPACURLOverride: FERRY_PAC_URL skips DNS discovery.
func TestPACURLOverride(t *testing.T) {
	t.Setenv(EnvPACURL, "http://wpad.elsewhere.example/wpad.dat")
	w := newWPADWorld(t, map[string]bool{"wpad.elsewhere.example": true}, `function FindProxyForURL(u, h) { return "SOCKS5 127.0.0.1:1080"; }`, "")
	if got := w.proxy(t, "http://x.example/"); got != "socks5://127.0.0.1:1080" {
		t.Fatalf("%s", got)
	}
	if len(w.lookups) != 0 {
		t.Fatalf("looked up %v", w.lookups)
	}
}

func TestSearchDomain(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(p, []byte("# generated\nnameserver 10.0.0.1\ndomain old.example\nsearch lab.corp.example corp.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := searchDomain(p); got != "lab.corp.example" {
		t.Fatalf("search domain %q", got)
	}
	a := &Auto{ResolvConf: p}
	t.Setenv(EnvWPADDomain, "")
	if got := strings.Join(a.domains(), " "); got != "lab.corp.example corp.example" {
		t.Fatalf("domains %q", got)
	}
}

package transfer

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

func pick(t *testing.T, sel ProxySelector, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sel(&http.Request{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	if p == nil {
		return "DIRECT"
	}
	return p.String()
}

func TestProxyOverrideSelection(t *testing.T) {
	for _, tc := range []struct {
		list, bypass, target, want string
	}{
		{"proxy:8080", "", "http://a.example.com/f", "http://proxy:8080"},
		{"proxy", "", "http://a.example.com/f", "http://proxy:80"},
		{"proxy", "", "https://a.example.com/f", "http://proxy:80"},
		{"http://proxy:3128", "", "http://a/f", "http://proxy:3128"},
		{"https://sproxy:8443", "", "http://a/f", "https://sproxy:8443"},
		{"http=hp:1 https=sp:2", "", "http://a/f", "http://hp:1"},
		{"http=hp:1 https=sp:2", "", "https://a/f", "http://sp:2"},
		{"http=hp:1", "", "https://a/f", "DIRECT"},
		{"http=hp:1;fb:9", "", "https://a/f", "http://fb:9"},
		{"http=http://hp:1,https=https://sp:2", "", "https://a/f", "https://sp:2"},
		{"HTTP=hp:1", "", "http://a/f", "http://hp:1"},
		{"first:1 second:2", "", "http://a/f", "http://first:1"},
		{"[::1]:3128", "", "http://a/f", "http://[::1]:3128"},
		{"10.0.0.1", "", "http://a/f", "http://10.0.0.1:80"},
		{"ftp=f:21 p:1", "", "http://a/f", "http://p:1"},
		// OVERRIDE proxies loopback too, unless bypassed.
		{"p:1", "", "http://127.0.0.1:9/f", "http://p:1"},
		{"p:1", "", "http://localhost/f", "http://p:1"},
		{"p:1", "127.0.0.1", "http://127.0.0.1:9/f", "DIRECT"},
		{"p:1", "<local>", "http://localhost/f", "DIRECT"},
		{"p:1", "<local>", "http://intranet:8080/f", "DIRECT"},
		{"p:1", "<local>", "http://a.example.com/f", "http://p:1"},
		{"p:1", "<local>", "http://127.0.0.1/f", "http://p:1"},
		{"p:1", "*.example.com", "http://a.example.com/f", "DIRECT"},
		{"p:1", "*.example.com", "http://A.B.EXAMPLE.COM/f", "DIRECT"},
		{"p:1", "*.example.com", "http://example.com/f", "http://p:1"},
		{"p:1", "*.example.com", "http://badexample.com/f", "http://p:1"},
		{"p:1", "a.com;b.com, c.com", "http://b.com/f", "DIRECT"},
		{"p:1", "a.com;b.com, c.com", "http://c.com/f", "DIRECT"},
		{"p:1", "a.com:8080", "http://a.com:8080/f", "DIRECT"},
		{"p:1", "a.com:8080", "http://a.com/f", "http://p:1"},
		{"p:1", "a.com:80", "http://a.com/f", "DIRECT"},
		{"p:1", "[::1]", "http://[::1]:5/f", "DIRECT"},
		{"p:1", "*", "http://anything/f", "DIRECT"},
	} {
		sel, err := ProxyFunc(bits.ProxySettings{Usage: bits.ProxyOverride, List: tc.list, Bypass: tc.bypass})
		if err != nil {
			t.Errorf("%q / %q: %v", tc.list, tc.bypass, err)
			continue
		}
		if got := pick(t, sel, tc.target); got != tc.want {
			t.Errorf("list %q bypass %q target %s: got %s, want %s", tc.list, tc.bypass, tc.target, got, tc.want)
		}
	}
}

func TestProxyListInvalid(t *testing.T) {
	for _, tc := range []struct{ list, bypass string }{
		{"", ""},
		{" ; , ", ""},
		{"proxy:0", ""},
		{"proxy:65536", ""},
		{"proxy:http", ""},
		{"proxy:", ""},
		{"gopher=proxy:1", ""},
		{"socks5://proxy:1", ""},
		{"http=", ""},
		{"pro xy:1/path", ""},
		{"proxy:1/path", ""},
		{"[::1:80", ""},
		{"[zz]:80", ""},
		{"bad_ch@r:1", ""},
		{"a..b:1", ""},
		{"p:1", "aaa.*"},
		{"p:1", "a*b.com"},
		{"p:1", "*.a*.com"},
		{"p:1", "host:port"},
		{"p:1", "ho$t"},
	} {
		_, err := ProxyFunc(bits.ProxySettings{Usage: bits.ProxyOverride, List: tc.list, Bypass: tc.bypass})
		var te *Error
		if !errors.As(err, &te) || te.Code != bits.BG_E_INVALID_PROXY_INFO || te.Transient {
			t.Errorf("list %q bypass %q: ProxyFunc gave %v", tc.list, tc.bypass, err)
		}
		// The code shows once, with the reason after it.
		if line := err.Error(); strings.Count(line, "0x8020003F") != 1 || !strings.HasPrefix(line, "BG_E_INVALID_PROXY_INFO (0x8020003F): proxy") && !strings.HasPrefix(line, "BG_E_INVALID_PROXY_INFO (0x8020003F): bypass") && !strings.HasPrefix(line, "BG_E_INVALID_PROXY_INFO (0x8020003F): the proxy list") {
			t.Errorf("list %q bypass %q: line %q", tc.list, tc.bypass, line)
		}
	}
	if _, err := ProxyFunc(bits.ProxySettings{Usage: bits.ProxyOverride, List: "http=a:1 https=b:2;c", Bypass: "<local> *.x.org 10.1.2.3"}); err != nil {
		t.Fatal(err)
	}
}

// PRECONFIG is the environment's proxy, read at each request. (AUTODETECT
// is WPAD and PAC: TestAutodetect*.)
func TestProxyPreconfigReadsEnvironmentEachTime(t *testing.T) {
	for _, usage := range []bits.ProxyUsage{bits.ProxyPreconfig} {
		sel, err := ProxyFunc(bits.ProxySettings{Usage: usage})
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("HTTP_PROXY", "http://envproxy:3128")
		t.Setenv("NO_PROXY", "skip.example")
		if got := pick(t, sel, "http://a.example/f"); got != "http://envproxy:3128" {
			t.Fatalf("%s: got %s", usage, got)
		}
		if got := pick(t, sel, "http://skip.example/f"); got != "DIRECT" {
			t.Fatalf("%s NO_PROXY: got %s", usage, got)
		}
		// Documented: the environment never proxies loopback.
		if got := pick(t, sel, "http://127.0.0.1:8/f"); got != "DIRECT" {
			t.Fatalf("%s loopback: got %s", usage, got)
		}
		t.Setenv("HTTP_PROXY", "http://other:1")
		if got := pick(t, sel, "http://a.example/f"); got != "http://other:1" {
			t.Fatalf("%s: environment read once (got %s)", usage, got)
		}
	}
	sel, _ := ProxyFunc(bits.ProxySettings{Usage: bits.ProxyNoProxy})
	if got := pick(t, sel, "http://a.example/f"); got != "DIRECT" {
		t.Fatalf("NO_PROXY: got %s", got)
	}
}

// testsrv understands absolute-form requests, so it can play the proxy:
// the target host need not exist (it is never resolved).
func TestHTTPThroughProxyWithCredentials(t *testing.T) {
	proxy := testsrv.New(t)
	proxy.Handle("/f.bin", testsrv.File{Size: 200 << 10})
	opts := Options{
		Proxy: bits.ProxySettings{Usage: bits.ProxyOverride, List: "http=" + proxy.Listener.Addr().String()},
		Credentials: []bits.Credential{
			{Target: bits.AuthTargetProxy, Scheme: bits.AuthBasic, UserName: "pu", Password: "pp"},
		},
	}
	m := newTarget(t)
	if err := run(t, testHTTP(), Request{URL: "http://ferry-origin.invalid/f.bin", Options: opts}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), proxy.Body("/f.bin"))
	log := proxy.Requests("/f.bin")
	if len(log) != 1 {
		t.Fatalf("requests %+v", log)
	}
	for _, r := range log {
		if !r.Proxied || r.Host != "ferry-origin.invalid" || r.Header.Get("Proxy-Authorization") != "Basic cHU6cHA=" {
			t.Fatalf("not a proxied request with credentials: %+v", r)
		}
	}

	// Bypassed: a direct request to the origin, the proxy sees nothing.
	origin := testsrv.New(t)
	origin.Handle("/g.bin", testsrv.File{Size: 1000})
	proxy.ClearLog()
	opts.Proxy.Bypass = "*.invalid 127.0.0.1"
	if err := run(t, testHTTP(), Request{URL: origin.URL("/g.bin"), Options: opts}, newTarget(t)); err != nil {
		t.Fatal(err)
	}
	if n := len(proxy.Requests("")); n != 0 {
		t.Fatalf("proxy saw %d requests for a bypassed host", n)
	}
	if r := origin.Requests("/g.bin")[0]; r.Proxied || r.Header.Get("Proxy-Authorization") != "" {
		t.Fatalf("direct request looks proxied: %+v", r)
	}
}

func TestHTTPInvalidProxyList(t *testing.T) {
	opts := Options{Proxy: bits.ProxySettings{Usage: bits.ProxyOverride, List: "bad proxy:99999"}}
	err := run(t, testHTTP(), Request{URL: "http://127.0.0.1:9/x", Options: opts}, newTarget(t))
	wantCode(t, err, bits.BG_E_INVALID_PROXY_INFO, false, bits.ContextGeneralTransport)
}

package pac

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testEnv resolves a few names, has a fixed address and a fixed time:
// Wednesday 2026-12-09 14:30:15 UTC.
func testEnv() Env {
	hosts := map[string]string{"www.corp.example": "10.1.2.3", "intranet": "10.9.9.9", "ext.example.org": "203.0.113.5"}
	return Env{
		LookupIP: func(ctx context.Context, host string) ([]net.IP, error) {
			if err := ctx.Err(); err != nil {
				return nil, err // as a real resolver: a look-up past its deadline fails
			}
			if a, ok := hosts[host]; ok {
				return []net.IP{net.ParseIP(a)}, nil
			}
			return nil, errors.New("no such host")
		},
		MyIP:    func() net.IP { return net.ParseIP("192.168.7.20") },
		Now:     func() time.Time { return time.Date(2026, 12, 9, 14, 30, 15, 0, time.UTC) },
		Timeout: 500 * time.Millisecond,
	}
}

func eval(t *testing.T, expr string) string {
	t.Helper()
	s, err := Compile("function FindProxyForURL(url, host) { return String("+expr+"); }", testEnv())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("http://www.corp.example/a")
	got, err := s.FindProxy(context.Background(), u)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return got
}

func TestHelpers(t *testing.T) {
	for expr, want := range map[string]string{
		`isPlainHostName("intranet")`:                                 "true",
		`isPlainHostName("www.corp.example")`:                         "false",
		`dnsDomainIs("www.corp.example", ".corp.example")`:            "true",
		`dnsDomainIs("www.other.example", ".corp.example")`:           "false",
		`localHostOrDomainIs("www", "www.corp.example")`:              "true",
		`localHostOrDomainIs("www.corp.example", "www.corp.example")`: "true",
		`localHostOrDomainIs("www.other", "www.corp.example")`:        "false",
		`isResolvable("www.corp.example")`:                            "true",
		`isResolvable("nowhere.invalid")`:                             "false",
		`dnsResolve("ext.example.org")`:                               "203.0.113.5",
		`dnsResolve("nowhere.invalid")`:                               "null",
		`isInNet("www.corp.example", "10.0.0.0", "255.0.0.0")`:        "true",
		`isInNet("ext.example.org", "10.0.0.0", "255.0.0.0")`:         "false",
		`isInNet("192.168.1.7", "192.168.0.0", "255.255.0.0")`:        "true",
		`isInNet("nowhere.invalid", "0.0.0.0", "0.0.0.0")`:            "false",
		`myIpAddress()`:                                    "192.168.7.20",
		`dnsDomainLevels("www.corp.example")`:              "2",
		`dnsDomainLevels("intranet")`:                      "0",
		`shExpMatch("http://x.org/a/b.iso", "*/b.*")`:      "true",
		`shExpMatch("http://x.org/a/b.iso", "*.zip")`:      "false",
		`shExpMatch("ab", "a?")`:                           "true",
		`shExpMatch("a(b", "a(?")`:                         "true",
		`weekdayRange("WED", "GMT")`:                       "true",
		`weekdayRange("MON", "FRI", "GMT")`:                "true",
		`weekdayRange("SAT", "SUN", "GMT")`:                "false",
		`weekdayRange("FRI", "THU", "GMT")`:                "true", // wraps
		`weekdayRange("THU", "TUE", "GMT")`:                "false",
		`dateRange(9, "GMT")`:                              "true",
		`dateRange("DEC", "GMT")`:                          "true",
		`dateRange(2026, "GMT")`:                           "true",
		`dateRange(1, 15, "GMT")`:                          "true",
		`dateRange("NOV", "JAN", "GMT")`:                   "true", // wraps
		`dateRange("JAN", "NOV", "GMT")`:                   "false",
		`dateRange(1, "DEC", 2026, 8, "DEC", 2026, "GMT")`: "false",
		`dateRange(1, "DEC", 2026, 9, "DEC", 2026, "GMT")`: "true",
		`dateRange("DEC", 2025, "JAN", 2027, "GMT")`:       "true",
		`dateRange(2027, "DEC", 2026, "GMT")`:              "false", // year before month
		`timeRange(14, "GMT")`:                             "true",
		`timeRange(9, 17, "GMT")`:                          "true",
		`timeRange(12, 14, "GMT")`:                         "false", // up to 14:00
		`timeRange(14, 30, 14, 31, "GMT")`:                 "true",
		`timeRange(14, 30, 10, 14, 30, 20, "GMT")`:         "true",
		`timeRange(14, 30, 16, 14, 30, 20, "GMT")`:         "false",
		`timeRange(22, 6, "GMT")`:                          "false",
		`timeRange(13, 3, "GMT")`:                          "true", // wraps past midnight
	} {
		if got := eval(t, expr); got != want {
			t.Errorf("%s = %s, want %s", expr, got, want)
		}
	}
}

func TestParseResult(t *testing.T) {
	got := ParseResult("PROXY p.corp:3128; SOCKS5 s:1080;HTTPS h.corp; BOGUS x:1; DIRECT")
	var parts []string
	for _, c := range got {
		if c.Direct {
			parts = append(parts, "direct")
		} else {
			parts = append(parts, c.Proxy.String())
		}
	}
	if s := strings.Join(parts, " "); s != "http://p.corp:3128 socks5://s:1080 https://h.corp:443 direct" {
		t.Fatalf("%s", s)
	}
}

// TestLoopIsStopped: a script that never returns is stopped at the time
// limit, and the next call gets a fresh runtime.
func TestLoopIsStopped(t *testing.T) {
	s, err := Compile(`var n = 0;
function FindProxyForURL(url, host) { n++; if (host == "loop.example") { for (;;) {} } return "PROXY p:" + n; }`, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	loop, _ := url.Parse("http://loop.example/")
	start := time.Now()
	if _, err := s.FindProxy(context.Background(), loop); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("loop: %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("the loop ran %v", el)
	}
	ok, _ := url.Parse("http://fine.example/")
	if got, err := s.FindProxy(context.Background(), ok); err != nil || got != "PROXY p:1" {
		t.Fatalf("after the loop: %q, %v (want a fresh runtime)", got, err)
	}
	if _, err := Compile(`for (;;) {}`, testEnv()); err == nil {
		t.Fatal("a PAC file whose top level loops compiled")
	}
	if _, err := Compile(`var x = 1;`, testEnv()); err == nil || !strings.Contains(err.Error(), "FindProxyForURL") {
		t.Fatalf("no FindProxyForURL: %v", err)
	}
	if _, err := Compile(`function FindProxyForURL( {`, testEnv()); err == nil {
		t.Fatal("a syntax error compiled")
	}
}

// TestHTTPSURLIsStripped: the script sees only scheme and host of an https URL.
func TestHTTPSURLIsStripped(t *testing.T) {
	s, err := Compile(`function FindProxyForURL(url, host) { return url; }`, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://user:pw@bank.example/account?token=secret")
	if got, _ := s.FindProxy(context.Background(), u); got != "https://bank.example/" {
		t.Fatalf("the script saw %q", got)
	}
}

// BenchmarkFindProxy: one evaluation of a typical corporate PAC file (the
// cost AUTODETECT adds to each request).
func BenchmarkFindProxy(b *testing.B) {
	s, err := Compile(`function FindProxyForURL(url, host) {
  if (isPlainHostName(host) || dnsDomainIs(host, ".corp.example") || shExpMatch(host, "*.internal")) return "DIRECT";
  if (isInNet(host, "10.0.0.0", "255.0.0.0")) return "DIRECT";
  return "PROXY proxy.corp.example:3128; DIRECT";
}`, testEnv())
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse("http://downloads.vendor.example/a.iso")
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.FindProxy(context.Background(), u); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTopLevelHelpers: a PAC file may call the helpers as it loads, also
// when it is loaded again after an interrupted evaluation.
func TestTopLevelHelpers(t *testing.T) {
	s, err := Compile(`var p = dnsResolve("ext.example.org");
function FindProxyForURL(url, host) { if (host == "loop.example") for (;;) {} return "PROXY " + p + ":8080"; }`, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("http://x.example/")
	loop, _ := url.Parse("http://loop.example/")
	for i := range 2 {
		if got, err := s.FindProxy(context.Background(), u); err != nil || got != "PROXY 203.0.113.5:8080" {
			t.Fatalf("load %d: %q, %v", i+1, got, err)
		}
		if _, err := s.FindProxy(context.Background(), loop); err == nil {
			t.Fatal("the loop returned")
		}
	}
}

package transfer

import (
	"os"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testenv"
	"ferry/backend/pac"
)

// TestAutodetectPACWithTinyproxy: AUTODETECT fetches the PAC file (named by
// FERRY_PAC_URL, served by nginx) and its FindProxyForURL sends one file
// through a real tinyproxy and the other directly.
func TestAutodetectPACWithTinyproxy(t *testing.T) {
	proxyURL, logPath := testenv.Tinyproxy(t)
	proxyHost := strings.TrimPrefix(proxyURL, "http://")
	script := `function FindProxyForURL(url, host) {
  if (shExpMatch(url, "*/direct.bin")) return "DIRECT";
  if (isInNet(host, "127.0.0.0", "255.0.0.0") && !isPlainHostName(host)) return "PROXY ` + proxyHost + `; DIRECT";
  return "DIRECT";
}`
	root, content := docroot(t, map[string]int{"via-proxy.bin": 300 << 10, "direct.bin": 1000})
	if err := os.WriteFile(root+"/proxy.pac", []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	base := testenv.Nginx(t, root)
	t.Setenv(pac.EnvPACURL, base+"/proxy.pac")
	autodetect.Invalidate()
	t.Cleanup(autodetect.Invalidate)

	opts := Options{Proxy: bits.ProxySettings{Usage: bits.ProxyAutodetect}}
	for _, name := range []string{"via-proxy.bin", "direct.bin"} {
		m := newTarget(t)
		if err := run(t, testHTTP(), Request{URL: base + "/" + name, Options: opts}, m); err != nil {
			t.Fatal(err)
		}
		wantBytes(t, m.bytes(), content[name])
	}
	logText, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if want := "GET " + base + "/via-proxy.bin"; !strings.Contains(string(logText), want) {
		t.Errorf("tinyproxy log lacks %q:\n%s", want, logText)
	}
	if strings.Contains(string(logText), "direct.bin") || strings.Contains(string(logText), "proxy.pac") {
		t.Errorf("a direct request (or the PAC fetch) went through tinyproxy:\n%s", logText)
	}
}

// TestAutodetectPACLoop: a PAC file whose FindProxyForURL never returns
// does not hold the transfer: it is stopped and the request goes direct.
func TestAutodetectPACLoop(t *testing.T) {
	root, content := docroot(t, map[string]int{"f.bin": 1000})
	if err := os.WriteFile(root+"/loop.pac", []byte(`function FindProxyForURL(url, host) { while (true) {} }`), 0o644); err != nil {
		t.Fatal(err)
	}
	base := testenv.Nginx(t, root)
	t.Setenv(pac.EnvPACURL, base+"/loop.pac")
	autodetect.Invalidate()
	t.Cleanup(autodetect.Invalidate)
	start := time.Now()
	m := newTarget(t)
	// The stall timer covers the proxy's choice too: give it the
	// production order of things (60 s against the script's 2 s).
	d := NewHTTP(HTTPConfig{StallTimeout: 10 * time.Second, ConnectTimeout: 2 * time.Second})
	if err := run(t, d, Request{URL: base + "/f.bin", Options: Options{Proxy: bits.ProxySettings{Usage: bits.ProxyAutodetect}}}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), content["f.bin"])
	if el := time.Since(start); el > 3*pac.DefaultTimeout+5*time.Second {
		t.Fatalf("the looping PAC held the transfer for %v", el)
	}
}

package transfer

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testenv"
)

// docroot writes files of the given sizes (random content) into a new docroot.
func docroot(t *testing.T, files map[string]int) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	content := map[string][]byte{}
	for name, size := range files {
		content[name] = writeRandom(t, filepath.Join(dir, name), size)
	}
	return dir, content
}

func TestNginxDownloadAndResume(t *testing.T) {
	root, content := docroot(t, map[string]int{"big.bin": 5*mb + 123})
	base := testenv.Nginx(t, root)
	d := testHTTP()

	m := newTarget(t)
	if err := run(t, d, Request{URL: base + "/big.bin"}, m); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(m.bytes()) != sha256.Sum256(content["big.bin"]) {
		t.Fatal("SHA-256 differs from the served file")
	}
	if v := m.validator(); v.Size != 5*mb+123 || v.ETag == "" || v.LastModified == "" {
		t.Fatalf("nginx validator %+v", v)
	}

	// Interrupted by the target, then resumed with If-Range against nginx.
	m = newTarget(t)
	m.failAt = 2 * mb
	wantCode(t, run(t, d, Request{URL: base + "/big.bin"}, m), bits.E_FAIL, false, bits.ContextLocalFile)
	if err := run(t, d, m.resume(base+"/big.bin", Options{}), m); err != nil {
		t.Fatal(err)
	}
	if m.resets != 0 || sha256.Sum256(m.bytes()) != sha256.Sum256(content["big.bin"]) {
		t.Fatalf("resume against nginx: resets %d, content differs or not", m.resets)
	}

	// Resume after the file changed on disk: nginx's new ETag forces a restart.
	m = newTarget(t)
	m.failAt = mb
	wantCode(t, run(t, d, Request{URL: base + "/big.bin"}, m), bits.E_FAIL, false, bits.ContextLocalFile)
	newer := writeRandom(t, filepath.Join(root, "big.bin"), 5*mb+123)
	// nginx's ETag is mtime+size: a rewrite within the same second is
	// invisible to it (and to BITS), so move the mtime as a real update would.
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(root, "big.bin"), later, later); err != nil {
		t.Fatal(err)
	}
	if err := run(t, d, m.resume(base+"/big.bin", Options{}), m); err != nil {
		t.Fatal(err)
	}
	if m.resets != 1 {
		t.Fatalf("resets %d, want 1", m.resets)
	}
	wantBytes(t, m.bytes(), newer)

	wantCode(t, run(t, d, Request{URL: base + "/missing.bin"}, newTarget(t)), bits.HTTPError(404), false, bits.ContextRemoteFile)
}

func TestTinyproxyOverride(t *testing.T) {
	root, content := docroot(t, map[string]int{"via-proxy.bin": 700 << 10, "bypassed.bin": 1000})
	base := testenv.Nginx(t, root)
	proxyURL, logPath := testenv.Tinyproxy(t)
	proxyHost := strings.TrimPrefix(proxyURL, "http://")

	opts := Options{Proxy: bits.ProxySettings{Usage: bits.ProxyOverride, List: proxyHost}}
	m := newTarget(t)
	if err := run(t, testHTTP(), Request{URL: base + "/via-proxy.bin", Options: opts}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), content["via-proxy.bin"])

	opts.Proxy.Bypass = "<local>;127.0.0.1"
	m = newTarget(t)
	if err := run(t, testHTTP(), Request{URL: base + "/bypassed.bin", Options: opts}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), content["bypassed.bin"])

	logText, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if want := "GET " + base + "/via-proxy.bin"; !strings.Contains(string(logText), want) {
		t.Errorf("tinyproxy log lacks %q:\n%s", want, logText)
	}
	if strings.Contains(string(logText), "bypassed.bin") {
		t.Errorf("bypassed request went through tinyproxy:\n%s", logText)
	}
}

//go:build unix

package cli_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/backend/browser"
	"ferry/backend/browser/manifests"
)

// hostSession runs `ferry ARGS…` as a browser would, sends the frames in
// and returns the frames it wrote, its stderr and its exit code.
func (e *env) hostSession(extraEnv []string, in []byte, args ...string) (out []json.RawMessage, stderr string, code int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ferryBin, args...)
	cmd.Env = append(e.environ(), extraEnv...)
	cmd.Dir = e.dir
	cmd.Stdin = bytes.NewReader(in)
	var o, eb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &eb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	// stdout carries frames and nothing else.
	for {
		f, err := browser.ReadFrame(&o)
		if err == io.EOF {
			break
		}
		if err != nil {
			e.t.Fatalf("stdout is not frames only: %v (rest %q; stderr %s)", err, o.String(), eb.String())
		}
		out = append(out, f)
	}
	return out, eb.String(), code
}

func frames(t *testing.T, msgs ...any) []byte {
	var b bytes.Buffer
	for _, m := range msgs {
		if err := browser.WriteFrame(&b, m); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func reply(t *testing.T, raw json.RawMessage) browser.Reply {
	var r browser.Reply
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return r
}

func TestNativeHostRefusesAnotherExtension(t *testing.T) {
	e := newEnv(t)
	out, _, code := e.hostSession(nil, frames(t, map[string]any{"id": 1, "type": "hello"}), "chrome-extension://abcdefghijklmnopabcdefghijklmnop/")
	if code != 1 || len(out) != 1 {
		t.Fatalf("exit %d, %d frames; want 1 and one error frame", code, len(out))
	}
	if r := reply(t, out[0]); r.OK || r.Error == nil || r.Error.Name != "E_ACCESSDENIED" {
		t.Fatalf("got %s", out[0])
	}
	if _, err := os.Stat(filepath.Join(e.home, "ferry.sock")); err == nil {
		t.Fatal("an engine was started for a refused caller")
	}
}

func TestNativeHostEngineAbsent(t *testing.T) {
	e := newEnv(t)
	// No engine, and the host told not to start one.
	out, stderr, code := e.hostSession(nil, frames(t, map[string]any{"id": 4, "type": "jobs"}), "--no-autostart", "native-host", manifests.ChromiumOrigin)
	if code != 0 || len(out) != 1 {
		t.Fatalf("exit %d, %d frames (%s)", code, len(out), stderr)
	}
	if r := reply(t, out[0]); r.ID != 4 || r.OK || r.Error == nil || r.Error.Name != "ERROR_SERVICE_NOT_ACTIVE" || !strings.Contains(r.Error.Message, "no engine is running") {
		t.Fatalf("got %s", out[0])
	}
	// A FERRY_HOME that cannot be made: no engine runs and none can start.
	e.home = filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(e.home, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := frames(t, map[string]any{"id": 7, "type": "hello"},
		map[string]any{"id": 8, "type": "download", "items": []map[string]string{{"url": "http://127.0.0.1:1/a"}}})
	out, stderr, code = e.hostSession(nil, in, manifests.ChromiumOrigin)
	if code != 0 || len(out) != 2 {
		t.Fatalf("exit %d, %d frames (%s)", code, len(out), stderr)
	}
	for i, raw := range out {
		r := reply(t, raw)
		if r.ID != int64(7+i) || r.OK || r.Error == nil || !strings.Contains(r.Error.Message, "cannot reach the engine") {
			t.Fatalf("frame %d: %s", i, raw)
		}
	}
}

func TestNativeHostOversizedFrame(t *testing.T) {
	e := newEnv(t)
	var hdr [4]byte
	binary.NativeEndian.PutUint32(hdr[:], browser.MaxFrame+1)
	out, _, code := e.hostSession(nil, hdr[:], manifests.ChromiumOrigin)
	if code != 1 || len(out) != 1 {
		t.Fatalf("exit %d, %d frames", code, len(out))
	}
	if r := reply(t, out[0]); r.Error == nil || !strings.Contains(r.Error.Message, "over 1 MiB") {
		t.Fatalf("got %s", out[0])
	}
}

// TestNativeHostDownload hands a download behind a login cookie to the
// engine as the extension does, through the real host and engine.
func TestNativeHostDownload(t *testing.T) {
	e := newEnv(t)
	const cookie = "session=s3cr3t-cookie-value-4711"
	payload := bytes.Repeat([]byte("ferry browser "), 50000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Cookie") != cookie || r.Header.Get("Referer") != "http://page.example/" {
			http.Error(w, "log in first", http.StatusForbidden)
			return
		}
		http.ServeContent(w, r, "file.bin", time.Time{}, bytes.NewReader(payload))
	}))
	defer srv.Close()
	dl := filepath.Join(t.TempDir(), "Downloads")
	e.ok("config", "set", "downloadDir", dl)
	if err := os.MkdirAll(dl, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dl, "file.bin"), []byte("the user's own file"), 0o600); err != nil {
		t.Fatal(err)
	}
	req := map[string]any{"id": 1, "type": "download", "name": "from the browser",
		"items":   []map[string]string{{"url": srv.URL + "/dl/file.bin", "filename": "file.bin"}},
		"headers": map[string]string{"Cookie": cookie, "Referer": "http://page.example/", "User-Agent": "test"}}
	out, stderr, code := e.hostSession(nil, frames(t, req, map[string]any{"id": 2, "type": "jobs"}), manifests.ChromiumOrigin)
	if code != 0 || len(out) != 2 {
		t.Fatalf("exit %d, %d frames; stderr %s", code, len(out), stderr)
	}
	var d browser.Download
	r := reply(t, out[0])
	if !r.OK {
		t.Fatalf("download refused: %s", out[0])
	}
	b, _ := json.Marshal(r.Data)
	if err := json.Unmarshal(b, &d); err != nil || len(d.Files) != 1 {
		t.Fatalf("answer %s: %v", out[0], err)
	}
	want := filepath.Join(dl, "file (1).bin")
	if d.Files[0] != want {
		t.Fatalf("saved as %s, want %s (the user's file.bin stays)", d.Files[0], want)
	}
	if !strings.Contains(string(out[1]), d.Job) {
		t.Fatalf("the job list does not show %s: %s", d.Job, out[1])
	}
	// The engine completes the job by itself (its notify command line).
	waitFor(t, 30*time.Second, "the file under its name", func() bool {
		got, err := os.ReadFile(want)
		return err == nil && bytes.Equal(got, payload)
	})
	if got, _ := os.ReadFile(filepath.Join(dl, "file.bin")); string(got) != "the user's own file" {
		t.Fatal("the user's file was replaced")
	}
	e.stopEngine()
	// The cookie is sealed: no file of FERRY_HOME holds it in clear.
	filepath.Walk(e.home, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("s3cr3t-cookie")) {
				t.Errorf("%s holds the cookie in clear", p)
			}
		}
		return nil
	})
	// The status command's "connected".
	if _, err := os.Stat(filepath.Join(e.home, "browser-chromium.contact")); err != nil {
		t.Errorf("no contact recorded: %v", err)
	}
}

func TestNativeHostRefusesBadDownloads(t *testing.T) {
	e := newEnv(t)
	e.ok("config", "set", "downloadDir", t.TempDir())
	bad := []map[string]any{
		{"id": 1, "type": "download", "items": []map[string]string{{"url": "file:///etc/passwd"}}},
		{"id": 2, "type": "download", "items": []map[string]string{{"url": "http://x/a"}}, "headers": map[string]string{"X-Evil": "1"}},
		{"id": 3, "type": "download", "items": []map[string]string{{"url": "http://x/a"}}, "headers": map[string]string{"Cookie": "a=1\r\nHost: evil"}},
		{"id": 4, "type": "download"},
		{"id": 5, "type": "format-disk"},
	}
	msgs := make([]any, len(bad))
	for i, b := range bad {
		msgs[i] = b
	}
	out, stderr, code := e.hostSession(nil, frames(t, msgs...), manifests.ChromiumOrigin)
	if code != 0 || len(out) != len(bad) {
		t.Fatalf("exit %d, %d frames: %s", code, len(out), stderr)
	}
	for i, raw := range out {
		if r := reply(t, raw); r.OK || r.Error == nil || r.Error.Name != "E_INVALIDARG" {
			t.Errorf("request %d: %s", i+1, raw)
		}
	}
	if list := e.ok("list", "--json"); strings.TrimSpace(list) != "[]" {
		t.Fatalf("a refused download left a job: %s", list)
	}
}

func TestBrowserInstallStatusUninstall(t *testing.T) {
	e := newEnv(t)
	root := t.TempDir()
	extra := []string{"HOME=" + root, "XDG_CONFIG_HOME=" + filepath.Join(root, "cfg")}
	run := func(args ...string) []manifests.Status {
		cmd := exec.Command(ferryBin, append(args, "--json")...)
		cmd.Env = append(e.environ(), extra...)
		outb, err := cmd.Output()
		if err != nil {
			t.Fatalf("ferry %v: %v", args, err)
		}
		var st []manifests.Status
		if err := json.Unmarshal(outb, &st); err != nil {
			t.Fatalf("%s: %v", outb, err)
		}
		return st
	}
	st := run("browser", "install")
	if len(st) != 4 {
		t.Fatalf("%d browsers", len(st))
	}
	wantPaths := map[manifests.Browser]string{
		manifests.Chrome:   filepath.Join(root, "cfg/google-chrome/NativeMessagingHosts/org.ferry.host.json"),
		manifests.Chromium: filepath.Join(root, "cfg/chromium/NativeMessagingHosts/org.ferry.host.json"),
		manifests.Edge:     filepath.Join(root, "cfg/microsoft-edge/NativeMessagingHosts/org.ferry.host.json"),
		manifests.Firefox:  filepath.Join(root, ".mozilla/native-messaging-hosts/org.ferry.host.json"),
	}
	for _, s := range st {
		if !s.Installed || s.Manifest != wantPaths[s.Browser] || s.Connected {
			t.Errorf("%+v", s)
		}
		var m manifests.Manifest
		b, err := os.ReadFile(s.Manifest)
		if err != nil || json.Unmarshal(b, &m) != nil {
			t.Fatalf("%s: %v", s.Manifest, err)
		}
		if m.Path != s.Host || !filepath.IsAbs(m.Path) || m.Type != "stdio" {
			t.Errorf("manifest %+v", m)
		}
		if s.Browser == manifests.Firefox && (len(m.AllowedExtensions) != 1 || m.AllowedExtensions[0] != manifests.FirefoxID || m.AllowedOrigins != nil) {
			t.Errorf("firefox manifest %+v", m)
		}
		if s.Browser != manifests.Firefox && (len(m.AllowedOrigins) != 1 || m.AllowedOrigins[0] != manifests.ChromiumOrigin) {
			t.Errorf("%s manifest %+v", s.Browser, m)
		}
	}
	// The manifest's program, started as a browser starts it, is the host.
	out, _, code := e.hostSession(extra, frames(t, map[string]any{"id": 3, "type": "hello"}), wantPaths[manifests.Firefox], manifests.FirefoxID)
	if code != 0 || len(out) != 1 || !reply(t, out[0]).OK {
		t.Fatalf("exit %d, %q", code, out)
	}
	st = run("browser", "status", "--browser", "firefox")
	if len(st) != 1 || !st[0].Connected || st[0].LastContact == nil {
		t.Fatalf("after a contact: %+v", st)
	}
	st = run("browser", "uninstall", "--browser", "chromium")
	if len(st) != 1 || st[0].Installed {
		t.Fatalf("%+v", st)
	}
	if _, err := os.Stat(wantPaths[manifests.Chromium]); !os.IsNotExist(err) {
		t.Fatalf("chromium's manifest is still there: %v", err)
	}
	if _, err := os.Stat(wantPaths[manifests.Chrome]); err != nil {
		t.Fatalf("chrome's manifest went too: %v", err)
	}
	if r := e.run("browser", "install", "--browser", "opera"); r.code != 2 {
		t.Fatalf("an unknown browser: %s", r)
	}
}

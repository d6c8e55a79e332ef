package uploadserver_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/uploadserver"
)

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type env struct {
	t   *testing.T
	srv *uploadserver.Server
	hs  *httptest.Server
	dir string
	s3  *s3Place // the server's object store, when the test runs on one (s3_test.go)
}

func newEnv(t *testing.T, cfg uploadserver.Config) *env {
	t.Helper()
	place := s3For(t)
	if place != nil {
		cfg.Store = place.open(t)
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	s, err := uploadserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() { hs.Close(); s.Close() })
	return &env{t: t, srv: s, hs: hs, dir: cfg.Dir, s3: place}
}

// resp is a raw Ack.
type resp struct {
	status int
	h      http.Header
	body   []byte
}

func (r resp) get(k string) string { return r.h.Get(k) }

// send posts one packet; hdr holds "Name: value" pairs.
func (e *env) send(path, typ string, body []byte, hdr ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest("BITS_POST", e.hs.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body == nil {
		req.Body = http.NoBody
		req.TransferEncoding = []string{"identity"} // Go sends "Content-Length: 0" only so
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("BITS-Packet-Type", typ)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.Header.Get("BITS-Packet-Type") != "Ack" || r.Header.Get("Content-Length") != "0" || len(b) != 0 {
		e.t.Fatalf("%s %s: not an empty Ack: status %d, headers %v, body %q", typ, path, r.StatusCode, r.Header, b)
	}
	return resp{status: r.StatusCode, h: r.Header, body: b}
}

func (e *env) create(path string) string {
	e.t.Helper()
	r := e.send(path, "Create-Session", nil, "BITS-Supported-Protocols", uploadserver.Protocol)
	if r.status != 200 || r.get("BITS-Protocol") != uploadserver.Protocol || r.get("BITS-Session-Id") == "" {
		e.t.Fatalf("Create-Session %s: %d %v", path, r.status, r.h)
	}
	return r.get("BITS-Session-Id")
}

func (e *env) fragment(path, sid string, data []byte, start, total int64) resp {
	e.t.Helper()
	rng := fmt.Sprintf("bytes %d-%d/%d", start, start+int64(len(data))-1, total)
	return e.send(path, "Fragment", data, "BITS-Session-Id", sid, "Content-Range", rng)
}

func wantStatus(t *testing.T, r resp, status int, code bits.HRESULT) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (%v)", r.status, status, r.h)
	}
	if code != 0 {
		if got := r.get("BITS-Error-Code"); got != code.Hex() {
			t.Fatalf("BITS-Error-Code %q, want %s", got, code.Hex())
		}
		if r.get("BITS-Error-Context") != "0x5" {
			t.Fatalf("BITS-Error-Context %q", r.get("BITS-Error-Context"))
		}
	}
}

func (e *env) stored(name string) []byte {
	e.t.Helper()
	if e.s3 != nil {
		return e.s3.read(e.t, name)
	}
	b, err := os.ReadFile(filepath.Join(e.dir, filepath.FromSlash(name)))
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func TestProtocolBasics(t *testing.T) {
	e := newEnv(t, uploadserver.Config{})
	if r := e.send("/x.bin", "Ping", nil); r.status != 200 {
		t.Fatalf("Ping: %d", r.status)
	}
	data := []byte("0123456789abcdefghij")
	sid := e.create("/dir/x.bin")

	// A gap: 416 and where to continue.
	r := e.fragment("/dir/x.bin", sid, data[5:10], 5, 20)
	wantStatus(t, r, 416, 0)
	if r.get("BITS-Received-Content-Range") != "0" {
		t.Fatalf("416 without the offset: %v", r.h)
	}
	r = e.fragment("/dir/x.bin", sid, data[:8], 0, 20)
	if r.status != 200 || r.get("BITS-Received-Content-Range") != "8" || r.get("BITS-Session-Id") != sid {
		t.Fatalf("fragment: %d %v", r.status, r.h)
	}
	// A repeat and an overlap: acknowledged, only the new tail written.
	r = e.fragment("/dir/x.bin", sid, data[:8], 0, 20)
	if r.status != 200 || r.get("BITS-Received-Content-Range") != "8" {
		t.Fatalf("repeat: %d %v", r.status, r.h)
	}
	tampered := append([]byte("XXXX"), data[8:12]...) // bytes 4-11: 4-7 are held already
	r = e.fragment("/dir/x.bin", sid, tampered, 4, 20)
	if r.status != 200 || r.get("BITS-Received-Content-Range") != "12" {
		t.Fatalf("overlap: %d %v", r.status, r.h)
	}
	// The total may not change; the range must match the body.
	wantStatus(t, e.fragment("/dir/x.bin", sid, data[12:], 12, 21), 400, bits.E_INVALIDARG)
	wantStatus(t, e.send("/dir/x.bin", "Fragment", data[12:], "BITS-Session-Id", sid, "Content-Range", "bytes 12-18/20"), 400, bits.E_INVALIDARG)
	wantStatus(t, e.send("/dir/x.bin", "Fragment", data[12:], "BITS-Session-Id", sid, "Content-Range", "12-19/20"), 400, bits.E_INVALIDARG)
	wantStatus(t, e.send("/dir/x.bin", "Fragment", data[12:], "BITS-Session-Id", sid, "Content-Range", "bytes 12-19/20", "Content-Encoding", "gzip"), 400, bits.E_INVALIDARG)

	r = e.fragment("/dir/x.bin", sid, data[12:], 12, 20)
	if r.status != 200 || r.get("BITS-Received-Content-Range") != "20" {
		t.Fatalf("last fragment: %d %v", r.status, r.h)
	}
	if got := e.stored("dir/x.bin"); !bytes.Equal(got, data) {
		t.Fatalf("stored %q, want %q", got, data)
	}
	// The last fragment again (its Ack was lost): the same Ack.
	r2 := e.fragment("/dir/x.bin", sid, data[19:], 19, 20)
	if r2.status != 200 || r2.get("BITS-Received-Content-Range") != "20" || r2.get("BITS-Reply-URL") != r.get("BITS-Reply-URL") {
		t.Fatalf("repeated last fragment: %d %v", r2.status, r2.h)
	}

	// The reply document, until Close-Session.
	reply := r.get("BITS-Reply-URL")
	g, err := http.Get(reply)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	err = json.NewDecoder(g.Body).Decode(&doc)
	g.Body.Close()
	sum := sha256.Sum256(data)
	if err != nil || g.StatusCode != 200 || doc["name"] != "dir/x.bin" || doc["sha256"] != hex.EncodeToString(sum[:]) || doc["size"] != float64(20) {
		t.Fatalf("reply %s: %d %v %v", reply, g.StatusCode, doc, err)
	}
	if r := e.send("/dir/x.bin", "Close-Session", nil, "BITS-Session-Id", sid); r.status != 200 {
		t.Fatalf("Close-Session: %d", r.status)
	}
	if g, err := http.Get(reply); err != nil || g.StatusCode != 404 {
		t.Fatalf("reply after Close-Session: %v %v", g.StatusCode, err)
	}
	if e.srv.OpenSessions() != 0 {
		t.Fatal("session left open")
	}
	// Unknown (closed) session: BG_E_SESSION_NOT_FOUND with status 500.
	wantStatus(t, e.fragment("/dir/x.bin", sid, data[:1], 0, 20), 500, bits.BG_E_SESSION_NOT_FOUND)
	wantStatus(t, e.send("/dir/x.bin", "Close-Session", nil, "BITS-Session-Id", sid), 500, bits.BG_E_SESSION_NOT_FOUND)
	wantStatus(t, e.send("/dir/x.bin", "Cancel-Session", nil, "BITS-Session-Id", "{not-a-guid}"), 500, bits.BG_E_SESSION_NOT_FOUND)
	// Unexpected packets: 400.
	wantStatus(t, e.send("/dir/x.bin", "Upload-Everything", nil), 400, bits.E_INVALIDARG)
	wantStatus(t, e.send("/dir/x.bin", "", nil), 400, bits.E_INVALIDARG)
	// No common protocol: 400.
	wantStatus(t, e.send("/y.bin", "Create-Session", nil, "BITS-Supported-Protocols", "{00000000-0000-0000-0000-000000000000}"), 400, bits.E_INVALIDARG)
	// The file exists and overwriting is off: 409 (bits-reference §14; it was 403).
	wantStatus(t, e.send("/dir/x.bin", "Create-Session", nil, "BITS-Supported-Protocols", uploadserver.Protocol), 409, bits.HTTPError(409))
	// Other verbs are not the protocol.
	if g, err := http.Post(e.hs.URL+"/z.bin", "text/plain", strings.NewReader("x")); err != nil || g.StatusCode != 405 {
		t.Fatalf("POST: %v %v", g.StatusCode, err)
	}
}

func TestMissingContentLength(t *testing.T) {
	e := newEnv(t, uploadserver.Config{})
	sid := e.create("/cl.bin")
	// A chunked fragment has no Content-Length: 411.
	c, err := net.Dial("tcp", e.hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "BITS_POST /cl.bin HTTP/1.1\r\nHost: x\r\nBITS-Packet-Type: Fragment\r\nBITS-Session-Id: %s\r\nContent-Range: bytes 0-2/3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", sid)
	r, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != 411 || r.Header.Get("BITS-Error-Code") != bits.E_INVALIDARG.Hex() || r.Header.Get("BITS-Packet-Type") != "Ack" {
		t.Fatalf("chunked fragment: %d %v", r.StatusCode, r.Header)
	}
}

func TestEmptyAndExactMultipleUploads(t *testing.T) {
	e := newEnv(t, uploadserver.Config{})
	sid := e.create("/empty.bin")
	r := e.send("/empty.bin", "Fragment", nil, "BITS-Session-Id", sid, "Content-Range", "bytes */0")
	if r.status != 200 || r.get("BITS-Received-Content-Range") != "0" {
		t.Fatalf("empty fragment: %d %v", r.status, r.h)
	}
	if got := e.stored("empty.bin"); len(got) != 0 {
		t.Fatalf("empty upload stored %d bytes", len(got))
	}
	// Two fragments of exactly half the file each.
	data := bytes.Repeat([]byte("ab"), 5)
	sid = e.create("/even.bin")
	e.fragment("/even.bin", sid, data[:5], 0, 10)
	r = e.fragment("/even.bin", sid, data[5:], 5, 10)
	if r.status != 200 || r.get("BITS-Received-Content-Range") != "10" || !bytes.Equal(e.stored("even.bin"), data) {
		t.Fatalf("exact multiple: %d %v", r.status, r.h)
	}
}

func TestUnsafeNamesRefused(t *testing.T) {
	e := newEnv(t, uploadserver.Config{})
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(e.dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/dir/", "/%2e%2e/escape.bin", "/a/%2E%2E/%2E%2E/escape.bin", "/.bits-sessions/x.json",
		"/.hidden", "/a/./b", "/a//b", "/x%00y", "/a%5Cb", "/c:x", "/CON", "/nul.txt", "/trail.", "/trail%20",
		"/" + strings.Repeat("n", 256), "/" + strings.Repeat("d/", 40) + "f", "/%ff.bin", "/tab%09.bin"} {
		r := e.send(p, "Create-Session", nil, "BITS-Supported-Protocols", uploadserver.Protocol)
		if r.status != 400 || r.get("BITS-Error-Code") != bits.E_INVALIDARG.Hex() {
			t.Errorf("%q: status %d %v, want 400 E_INVALIDARG", p, r.status, r.h)
		}
	}
	// A symbolic link inside the directory cannot lead out of it either, and
	// that is said at Create-Session, not after the whole upload (it was a
	// 500 at the last fragment).
	wantStatus(t, e.send("/link/escape.bin", "Create-Session", nil, "BITS-Supported-Protocols", uploadserver.Protocol), 403, bits.E_ACCESSDENIED)
	wantStatus(t, e.send("/link/deeper/escape.bin", "Create-Session", nil, "BITS-Supported-Protocols", uploadserver.Protocol), 403, bits.E_ACCESSDENIED)
	// A link that stays inside is fine.
	if err := os.Mkdir(filepath.Join(e.dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(e.dir, "alias")); err != nil {
		t.Fatal(err)
	}
	sid := e.create("/alias/in.bin")
	if r := e.fragment("/alias/in.bin", sid, []byte("data"), 0, 4); r.status != 200 || string(e.stored("real/in.bin")) != "data" {
		t.Fatalf("upload through a link inside: %d %v", r.status, r.h)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("an upload escaped the directory: %v", entries)
	}
	// Unicode names are fine.
	sid = e.create("/r%C3%A9sum%C3%A9/%E6%97%A5%E6%9C%AC.txt")
	if r := e.fragment("/r%C3%A9sum%C3%A9/%E6%97%A5%E6%9C%AC.txt", sid, []byte("ok"), 0, 2); r.status != 200 {
		t.Fatalf("unicode name: %d", r.status)
	}
	if string(e.stored("résumé/日本.txt")) != "ok" {
		t.Fatal("unicode name not stored")
	}
}

func TestTargetName(t *testing.T) {
	for in, want := range map[string]string{"/a.bin": "a.bin", "/x/y/z.tar.gz": "x/y/z.tar.gz", "a b.txt": "a b.txt"} {
		if got, err := uploadserver.TargetName(in); err != nil || got != want {
			t.Errorf("TargetName(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "/", "..", "/../a", "/a/..", "a/../../b", "/a\x00b", "/COM1.txt", "/lpt9", "/\u007f"} {
		if got, err := uploadserver.TargetName(in); err == nil {
			t.Errorf("TargetName(%q) = %q, want an error", in, got)
		}
	}
}

func TestLimits(t *testing.T) {
	e := newEnv(t, uploadserver.Config{MaxSize: 100, MaxSessions: 2})
	sid := e.create("/big.bin")
	wantStatus(t, e.fragment("/big.bin", sid, make([]byte, 10), 0, 101), 500, bits.BG_E_TOO_LARGE)
	if r := e.fragment("/big.bin", sid, make([]byte, 100), 0, 100); r.status != 200 {
		t.Fatalf("an upload at the limit: %d %v", r.status, r.h)
	}
	e.create("/two.bin")
	wantStatus(t, e.send("/three.bin", "Create-Session", nil, "BITS-Supported-Protocols", uploadserver.Protocol), 503, bits.HTTPError(503))
	// Cancelling one frees a place.
	if r := e.send("/big.bin", "Cancel-Session", nil, "BITS-Session-Id", sid); r.status != 200 {
		t.Fatalf("Cancel-Session: %d", r.status)
	}
	e.create("/three.bin")
}

func TestCloseOrCancelBeforeTheEnd(t *testing.T) {
	e := newEnv(t, uploadserver.Config{})
	for _, typ := range []string{"Close-Session", "Cancel-Session"} {
		sid := e.create("/partial.bin")
		e.fragment("/partial.bin", sid, []byte("abc"), 0, 10)
		if r := e.send("/partial.bin", typ, nil, "BITS-Session-Id", sid); r.status != 200 || r.get("BITS-Session-Id") != sid {
			t.Fatalf("%s: %d %v", typ, r.status, r.h)
		}
		if _, err := os.Stat(filepath.Join(e.dir, "partial.bin")); !os.IsNotExist(err) {
			t.Fatalf("%s kept a partial upload", typ)
		}
		if entries, _ := os.ReadDir(filepath.Join(e.dir, uploadserver.StateDirName)); len(entries) != 0 {
			t.Fatalf("%s left session files: %v", typ, entries)
		}
	}
}

func TestSessionsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, uploadserver.Config{Dir: dir})
	data := []byte("the quick brown fox jumps over the lazy dog")
	sid := e.create("/fox.txt")
	e.fragment("/fox.txt", sid, data[:10], 0, int64(len(data)))
	e.hs.Close()
	e.srv.Close()
	// A crash after bytes were written but before they were recorded:
	// the part file is longer than the record.
	var part string
	entries, _ := os.ReadDir(filepath.Join(dir, uploadserver.StateDirName))
	for _, en := range entries {
		if strings.HasSuffix(en.Name(), ".part") {
			part = filepath.Join(dir, uploadserver.StateDirName, en.Name())
		}
	}
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("garbage"))
	f.Close()
	os.WriteFile(filepath.Join(dir, uploadserver.StateDirName, "orphan.part"), []byte("x"), 0o600)

	e = newEnv(t, uploadserver.Config{Dir: dir})
	if e.srv.OpenSessions() != 1 {
		t.Fatalf("%d sessions after the restart", e.srv.OpenSessions())
	}
	if _, err := os.Stat(filepath.Join(dir, uploadserver.StateDirName, "orphan.part")); !os.IsNotExist(err) {
		t.Fatal("orphan file kept")
	}
	r := e.fragment("/fox.txt", sid, data[20:], 20, int64(len(data)))
	if r.status != 416 || r.get("BITS-Received-Content-Range") != "10" {
		t.Fatalf("after restart: %d %v", r.status, r.h)
	}
	e.fragment("/fox.txt", sid, data[10:], 10, int64(len(data)))
	if !bytes.Equal(e.stored("fox.txt"), data) {
		t.Fatalf("stored %q", e.stored("fox.txt"))
	}
}

// A crash just as the finished upload is moved into place: the record
// kept on disk at that moment must let a restarted server finish the
// session (the client's repeat of its last fragment gets 200), and the
// stored file must stay whole. The record once still held the length
// before the last fragment, and repair cut the part file (the stored
// file's own inode, by hard link) back to it.
func TestCrashWhilePlacing(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, uploadserver.Config{Dir: dir})
	state := filepath.Join(dir, uploadserver.StateDirName)
	var snapKey string
	var snap []byte
	uploadserver.SetBeforePlace(e.srv, func(key string) {
		snapKey = key
		snap, _ = os.ReadFile(filepath.Join(state, key+".json"))
	})
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	sid := e.create("/whole.bin")
	e.fragment("/whole.bin", sid, data[:20000], 0, int64(len(data)))
	wantStatus(t, e.fragment("/whole.bin", sid, data[20000:], 20000, int64(len(data))), 200, 0)
	e.hs.Close()
	e.srv.Close()
	if snap == nil {
		t.Fatal("the upload was never placed")
	}
	// The disk as the crash left it: the record of that moment, and the
	// part file where it was (a hard link to the stored file).
	if err := os.WriteFile(filepath.Join(state, snapKey+".json"), snap, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "whole.bin"), filepath.Join(state, snapKey+".part")); err != nil {
		t.Fatal(err)
	}
	e = newEnv(t, uploadserver.Config{Dir: dir})
	if !bytes.Equal(e.stored("whole.bin"), data) {
		t.Fatalf("the stored file changed at the restart: %d bytes, want %d", len(e.stored("whole.bin")), len(data))
	}
	wantStatus(t, e.fragment("/whole.bin", sid, data[20000:], 20000, int64(len(data))), 200, 0)
	if !bytes.Equal(e.stored("whole.bin"), data) {
		t.Fatal("the stored file differs after the repeat")
	}
}

func TestReplyApplicationError(t *testing.T) {
	fails := 1
	e := newEnv(t, uploadserver.Config{Reply: func(_ context.Context, u uploadserver.Upload) ([]byte, string, error) {
		if fails > 0 {
			fails--
			return nil, "", &uploadserver.AppError{Status: 503, Code: 0x80070005, Err: errors.New("busy")}
		}
		return []byte("thanks for " + u.ContentName), "text/plain", nil
	}})
	sid := e.create("/app.bin")
	r := e.send("/app.bin", "Fragment", []byte("xyz"), "BITS-Session-Id", sid, "Content-Range", "bytes 0-2/3", "Content-Name", "mine.bin")
	if r.status != 503 || r.get("BITS-Error-Code") != "0x80070005" || r.get("BITS-Error-Context") != "0x7" {
		t.Fatalf("application failure: %d %v", r.status, r.h)
	}
	r = e.fragment("/app.bin", sid, []byte("z"), 2, 3)
	if r.status != 200 || r.get("BITS-Reply-URL") == "" {
		t.Fatalf("retried last fragment: %d %v", r.status, r.h)
	}
	g, err := http.Get(r.get("BITS-Reply-URL"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(g.Body)
	g.Body.Close()
	if string(b) != "thanks for mine.bin" || g.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("reply %q (%s)", b, g.Header.Get("Content-Type"))
	}
}

func TestNoReplyAndOverwrite(t *testing.T) {
	e := newEnv(t, uploadserver.Config{NoReply: true, AllowOverwrite: true})
	for _, content := range []string{"first", "second"} {
		sid := e.create("/o.txt")
		r := e.fragment("/o.txt", sid, []byte(content), 0, int64(len(content)))
		if r.status != 200 || r.get("BITS-Reply-URL") != "" {
			t.Fatalf("%s: %d %v", content, r.status, r.h)
		}
		if string(e.stored("o.txt")) != content {
			t.Fatalf("stored %q", e.stored("o.txt"))
		}
	}
}

func TestMountedBelowAPrefix(t *testing.T) {
	s, err := uploadserver.New(uploadserver.Config{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mux := http.NewServeMux()
	mux.Handle("/uploads/", http.StripPrefix("/uploads", s))
	hs := httptest.NewServer(mux)
	defer hs.Close()
	e := &env{t: t, srv: s, hs: hs}
	sid := e.create("/uploads/m.txt")
	r := e.fragment("/uploads/m.txt", sid, []byte("hi"), 0, 2)
	reply := r.get("BITS-Reply-URL")
	if !strings.HasPrefix(reply, hs.URL+"/uploads/.bits-reply/") {
		t.Fatalf("reply URL %q", reply)
	}
	if g, err := http.Get(reply); err != nil || g.StatusCode != 200 {
		t.Fatalf("reply below the prefix: %v %v", g.StatusCode, err)
	}
}

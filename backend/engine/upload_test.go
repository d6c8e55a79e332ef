package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/uploadserver"
)

// writeRandom writes size pseudo-random bytes to path and returns them.
func writeRandom(t *testing.T, path string, size int, seed uint64) []byte {
	t.Helper()
	b := make([]byte, size)
	_, _ = rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 7}).Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// upServer is our upload server on httptest, with a log of the packets.
type upServer struct {
	*httptest.Server
	srv *uploadserver.Server
	dir string

	mu      sync.Mutex
	packets []string      // "Type" or "GET" (reply)
	headers []http.Header // of every request
}

func newUpServer(t *testing.T, cfg uploadserver.Config) *upServer {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	s, err := uploadserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := &upServer{srv: s, dir: cfg.Dir}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		typ := r.Header.Get("BITS-Packet-Type")
		if r.Method != "BITS_POST" {
			typ = r.Method
		}
		u.packets = append(u.packets, typ)
		u.headers = append(u.headers, r.Header.Clone())
		u.mu.Unlock()
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { u.Server.Close(); s.Close() })
	return u
}

func (u *upServer) count(typ string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, p := range u.packets {
		if strings.EqualFold(p, typ) {
			n++
		}
	}
	return n
}

// uploadJob creates an upload job of type typ for local → remote.
func (h *harness) uploadJob(typ bits.JobType, remote, local string) string {
	h.t.Helper()
	in, err := h.m.CreateJob("up", typ)
	h.must(err)
	h.must(h.m.AddFile(in.ID, FileSpec{RemoteName: remote, LocalName: local}))
	return in.ID
}

func TestUploadLargeFileToUploadServer(t *testing.T) {
	t.Parallel()
	srv := newUpServer(t, uploadserver.Config{})
	h := newHarness(t)
	data := writeRandom(t, h.path("big.bin"), 24<<20+12345, 1)
	id := h.uploadJob(bits.TypeUpload, srv.URL+"/in/big.bin", h.path("big.bin"))
	h.must(h.m.Resume(id))
	in := h.waitState(id, bits.StateTransferred)
	if in.Progress.BytesTotal != int64(len(data)) || in.Progress.BytesTransferred != int64(len(data)) || in.Progress.FilesTransferred != 1 {
		t.Fatalf("progress %+v", in.Progress)
	}
	got, err := os.ReadFile(filepath.Join(srv.dir, "in", "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatal("SHA-256 differs on the server")
	}
	if n := srv.count("Create-Session"); n != 1 {
		t.Fatalf("%d Create-Session packets", n)
	}
	if srv.count("Close-Session") != 1 || srv.srv.OpenSessions() != 0 {
		t.Fatalf("session not closed: %d Close-Session, %d open", srv.count("Close-Session"), srv.srv.OpenSessions())
	}
	// Download-only operations say so; an upload completes only from TRANSFERRED.
	_, err = h.m.GetReplyData(id)
	wantCode(t, err, bits.E_NOTIMPL)
	res, err := h.m.Complete(id)
	h.must(err)
	if res != bits.S_OK || h.info(id).State != bits.StateAcknowledged {
		t.Fatalf("Complete = %s, state %s", res.Name(), h.info(id).State)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestUploadReplyEndToEnd(t *testing.T) {
	t.Parallel()
	srv := newUpServer(t, uploadserver.Config{})
	h := newHarness(t)
	data := writeRandom(t, h.path("report.bin"), 3<<20+7, 2)
	id := h.uploadJob(bits.TypeUploadReply, srv.URL+"/report.bin", h.path("report.bin"))
	rp, err := h.m.GetReplyProgress(id)
	h.must(err)
	if rp.BytesTotal != -1 {
		t.Fatalf("reply progress before the start: %+v", rp)
	}
	_, err = h.m.GetReplyData(id)
	wantCode(t, err, bits.BG_E_INVALID_STATE)
	h.must(h.m.Resume(id))
	in := h.waitState(id, bits.StateTransferred)
	if in.Progress.BytesTotal != int64(len(data)) {
		t.Fatalf("job progress covers the upload only: %+v", in.Progress)
	}
	reply, err := h.m.GetReplyData(id)
	h.must(err)
	var doc struct {
		Name   string `json:"name"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	}
	if err := json.Unmarshal(reply, &doc); err != nil {
		t.Fatalf("reply %q: %v", reply, err)
	}
	if doc.Name != "report.bin" || doc.Size != int64(len(data)) || doc.SHA256 != sha256Hex(data) {
		t.Fatalf("reply %+v", doc)
	}
	rp, err = h.m.GetReplyProgress(id)
	h.must(err)
	if rp.BytesTotal != int64(len(reply)) || rp.BytesTransferred != int64(len(reply)) {
		t.Fatalf("reply progress %+v for %d bytes", rp, len(reply))
	}
	name, err := h.m.GetReplyFileName(id)
	h.must(err)
	if filepath.Dir(name) != h.dir {
		t.Fatalf("generated reply file name %q is not in the upload file's directory", name)
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Fatalf("reply file exists before Complete: %v", err)
	}
	// The reply was fetched before Close-Session.
	if srv.count("GET") != 1 || srv.count("Close-Session") != 1 {
		t.Fatalf("packets %v", srv.packets)
	}
	srv.mu.Lock()
	last := srv.packets[len(srv.packets)-2:]
	srv.mu.Unlock()
	if last[0] != "GET" || last[1] != "Close-Session" {
		t.Fatalf("the reply must come before Close-Session: %v", last)
	}
	_, err = h.m.Complete(id)
	h.must(err)
	got, err := os.ReadFile(name)
	h.must(err)
	if !bytes.Equal(got, reply) {
		t.Fatalf("reply file %q, reply data %q", got, reply)
	}
	if n := len(tempFiles(t, h.dir)); n != 0 {
		t.Fatalf("%d temporary files left", n)
	}
	// Reply data stays readable after Complete.
	again, err := h.m.GetReplyData(id)
	h.must(err)
	if !bytes.Equal(again, reply) {
		t.Fatal("reply data changed after Complete")
	}
}

func TestUploadReplyTooLarge(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("r"), bits.MaxReplyData+1)
	srv := newUpServer(t, uploadserver.Config{Reply: func(context.Context, uploadserver.Upload) ([]byte, string, error) {
		return big, "text/plain", nil
	}})
	h := newHarness(t)
	writeRandom(t, h.path("a.bin"), 1000, 3)
	id := h.uploadJob(bits.TypeUploadReply, srv.URL+"/a.bin", h.path("a.bin"))
	h.must(h.m.SetReplyFileName(id, h.path("reply.txt")))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	_, err := h.m.GetReplyData(id)
	wantCode(t, err, bits.BG_E_TOO_LARGE)
	_, err = h.m.Complete(id)
	h.must(err)
	got, err := os.ReadFile(h.path("reply.txt"))
	h.must(err)
	if !bytes.Equal(got, big) {
		t.Fatalf("reply file has %d bytes, want %d", len(got), len(big))
	}
}

// cutProxy forwards TCP connections to target and cuts the first cuts
// connections once they carried after bytes from the client.
type cutProxy struct {
	l      net.Listener
	target string
	after  int64
	mu     sync.Mutex
	cuts   int
}

func newCutProxy(t *testing.T, target string, after int64, cuts int) *cutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l, target: target, after: after, cuts: cuts}
	go p.serve()
	t.Cleanup(func() { l.Close() })
	return p
}

func (p *cutProxy) URL() string { return "http://" + p.l.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *cutProxy) pipe(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	p.mu.Lock()
	cut := p.cuts > 0
	if cut {
		p.cuts--
	}
	p.mu.Unlock()
	go func() { _, _ = io.Copy(c, up); c.Close() }()
	if cut {
		_, _ = io.CopyN(up, c, p.after)
		return // both sides see the connection drop mid-request
	}
	_, _ = io.Copy(up, c)
}

func TestUploadInterruptedMidFragment(t *testing.T) {
	t.Parallel()
	srv := newUpServer(t, uploadserver.Config{})
	// Two connections are cut, each in the middle of a fragment's body.
	proxy := newCutProxy(t, strings.TrimPrefix(srv.URL, "http://"), 6<<20+1000, 2)
	h := newHarness(t)
	data := writeRandom(t, h.path("cut.bin"), 20<<20, 4)
	id := h.uploadJob(bits.TypeUpload, proxy.URL()+"/cut.bin", h.path("cut.bin"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	got, err := os.ReadFile(filepath.Join(srv.dir, "cut.bin"))
	h.must(err)
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatal("SHA-256 differs after the interruptions")
	}
	if n := srv.count("Create-Session"); n != 1 {
		t.Fatalf("the interruptions started %d sessions, want the one resumed", n)
	}
}

func TestUploadLocalFileChanged(t *testing.T) {
	t.Parallel()
	srv := newUpServer(t, uploadserver.Config{})
	h := newHarness(t)
	h.must(h.m.SetSetting(KeyBandwidthNormal, "4M"))
	writeRandom(t, h.path("moving.bin"), 16<<20, 5)
	id := h.uploadJob(bits.TypeUpload, srv.URL+"/moving.bin", h.path("moving.bin"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferring)
	f, err := os.OpenFile(h.path("moving.bin"), os.O_WRONLY|os.O_APPEND, 0)
	h.must(err)
	_, err = f.Write([]byte("more"))
	h.must(err)
	h.must(f.Close())
	in := h.waitState(id, bits.StateError)
	if in.Error.Code != bits.BG_E_LOCAL_FILE_CHANGED || in.Error.Context != bits.ContextLocalFile {
		t.Fatalf("error %+v", in.Error)
	}
	// Resume does not help: the session belongs to the old content.
	h.must(h.m.Resume(id))
	in = h.waitState(id, bits.StateError)
	if in.Error.Code != bits.BG_E_LOCAL_FILE_CHANGED {
		t.Fatalf("error after Resume %+v", in.Error)
	}
	if _, err := os.Stat(filepath.Join(srv.dir, "moving.bin")); !os.IsNotExist(err) {
		t.Fatal("a changed upload was stored")
	}
}

func TestUploadCancelSendsCancelSession(t *testing.T) {
	t.Parallel()
	srv := newUpServer(t, uploadserver.Config{})
	h := newHarness(t)
	h.must(h.m.SetSetting(KeyBandwidthNormal, "4M"))
	writeRandom(t, h.path("c.bin"), 16<<20, 6)
	id := h.uploadJob(bits.TypeUpload, srv.URL+"/c.bin", h.path("c.bin"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferring)
	start := time.Now()
	res, err := h.m.Cancel(id)
	h.must(err)
	if res != bits.S_OK || time.Since(start) > 2*time.Second {
		t.Fatalf("Cancel = %s after %v", res.Name(), time.Since(start))
	}
	deadline := time.Now().Add(10 * time.Second)
	for srv.count("Cancel-Session") == 0 || srv.srv.OpenSessions() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no Cancel-Session: %v, %d open", srv.packets, srv.srv.OpenSessions())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(srv.dir, "c.bin")); !os.IsNotExist(err) {
		t.Fatal("a cancelled upload was stored")
	}
}

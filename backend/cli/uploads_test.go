//go:build unix

package cli_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// uploadServer is a running `ferry serve-uploads`.
type uploadServer struct {
	url     string // "http://127.0.0.1:PORT/"
	cmd     *exec.Cmd
	stderr  *syncBuffer
	done    chan error
	stopped bool
}

// syncBuffer is a bytes.Buffer safe for a process writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveUploads starts `ferry serve-uploads` with args and waits for the URL
// it prints; the server is stopped with SIGTERM when the test ends.
func (e *env) serveUploads(args ...string) *uploadServer {
	e.t.Helper()
	cmd := exec.Command(ferryBin, append([]string{"serve-uploads"}, args...)...)
	cmd.Env = e.environ()
	cmd.Dir = e.dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	s := &uploadServer{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	lines := newLineReader(stdout)
	go func() { s.done <- cmd.Wait() }()
	e.t.Cleanup(func() { s.stop(e.t) })
	deadline := time.After(20 * time.Second)
	for {
		if l := lines.snapshot(); len(l) > 0 {
			s.url = l[0]
			return s
		}
		select {
		case <-lines.added:
		case err := <-s.done:
			s.done <- err
			e.t.Fatalf("serve-uploads exited before printing its URL: %v\n%s", err, s.stderrText())
		case <-deadline:
			e.t.Fatalf("serve-uploads printed no URL\n%s", s.stderrText())
		}
	}
}

// stop sends SIGTERM and wants a clean exit 0 (once).
func (s *uploadServer) stop(t *testing.T) {
	if s.stopped {
		return
	}
	s.stopped = true
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve-uploads did not exit cleanly on SIGTERM: %v\n%s", err, s.stderrText())
		}
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("serve-uploads did not stop on SIGTERM\n%s", s.stderrText())
	}
}

func (s *uploadServer) stderrText() string { return s.stderr.String() }

// An upload job against `ferry serve-uploads` ends with an identical file
// in DIR; a second file is BG_E_TOO_MANY_FILES.
func TestServeUploadsUploadJob(t *testing.T) {
	e := newEnv(t)
	in := t.TempDir()
	srv := e.serveUploads("--listen", "127.0.0.1:0", "--dir", in)
	if !strings.HasPrefix(srv.url, "http://127.0.0.1:") || !strings.HasSuffix(srv.url, "/") {
		t.Fatalf("serve-uploads printed %q", srv.url)
	}
	if e.enginePID() != 0 {
		t.Fatal("serve-uploads started an engine")
	}
	body := randomBytes(t, 3<<20+12345)
	src := e.writeFile("report.bin", body, 0o644)

	id := strings.TrimSpace(e.ok("create", "--upload", "report"))
	e.ok("addfile", id, srv.url+"reports/q3.bin", src)
	r := e.fails("BG_E_TOO_MANY_FILES", "addfile", id, srv.url+"other.bin", src)
	if r.stderr != "ferry: BG_E_TOO_MANY_FILES (0x8020001C): an UPLOAD job holds exactly one file\n" {
		t.Fatalf("error line %q", r.stderr)
	}
	if got := e.ok("gettype", id); got != "UPLOAD\n" {
		t.Fatalf("gettype %q", got)
	}
	e.fails("E_NOTIMPL", "getreplyprogress", id)
	e.fails("E_NOTIMPL", "getreplydata", id)
	e.ok("resume", id)
	if got := e.ok("wait", id, "--timeout", "60"); got != "TRANSFERRED\n" {
		t.Fatalf("wait printed %q", got)
	}
	var p map[string]float64
	e.okJSON(&p, "getprogress", id)
	if p["bytesTotal"] != float64(len(body)) || p["bytesTransferred"] != float64(len(body)) || p["filesTransferred"] != 1 {
		t.Fatalf("getprogress %v", p)
	}
	e.ok("complete", id)
	got, err := os.ReadFile(filepath.Join(in, "reports", "q3.bin"))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("the stored upload differs (%d bytes, %v)", len(got), err)
	}
	if got := e.ok("getstate", id); got != "ACKNOWLEDGED\n" {
		t.Fatalf("getstate after complete %q", got)
	}
	// The server keeps no session once the upload is stored.
	if left, _ := filepath.Glob(filepath.Join(in, ".bits-sessions", "*.part")); len(left) != 0 {
		t.Fatalf("sessions left behind: %v", left)
	}

	// An upload larger than --max-size fails with the server's BITS error.
	small := e.serveUploads("--listen", "127.0.0.1:0", "--dir", t.TempDir(), "--max-size", "1K")
	id2 := strings.TrimSpace(e.ok("create", "--upload", "too big"))
	e.ok("addfile", id2, small.url+"big.bin", src)
	e.ok("resume", id2)
	e.fails("BG_E_TOO_LARGE", "wait", id2, "--timeout", "30")
	srv.stop(t)
	if strings.Count(srv.stderrText(), "warning") != 0 {
		t.Fatalf("a loopback server warned:\n%s", srv.stderrText())
	}
}

// An upload-reply job gets the server's reply: getreplyprogress, raw
// getreplydata, its --json form, and the reply file after complete.
func TestServeUploadsUploadReply(t *testing.T) {
	e := newEnv(t)
	in := t.TempDir()
	srv := e.serveUploads("--listen", ":0", "--dir", in) // a port alone is loopback
	if !strings.HasPrefix(srv.url, "http://127.0.0.1:") {
		t.Fatalf("serve-uploads --listen :0 printed %q", srv.url)
	}
	body := randomBytes(t, 700<<10)
	src := e.writeFile("photo.jpg", body, 0o644)

	id := strings.TrimSpace(e.ok("create", "--upload-reply", "photo"))
	e.ok("addfile", id, srv.url+"photo.jpg", src)
	var rp map[string]float64
	e.okJSON(&rp, "getreplyprogress", id)
	if rp["bytesTotal"] != -1 || rp["bytesTransferred"] != 0 || len(rp) != 2 {
		t.Fatalf("getreplyprogress before the reply %v", rp)
	}
	if got := e.ok("getreplyprogress", id); got != "0 / -1 bytes\n" {
		t.Fatalf("getreplyprogress text %q", got)
	}
	e.fails("BG_E_INVALID_STATE", "getreplydata", id)
	replyFile := filepath.Join(e.dir, "photo.reply.json")
	e.ok("setreplyfilename", id, replyFile)
	e.ok("resume", id)
	if got := e.ok("wait", id, "--timeout", "60"); got != "TRANSFERRED\n" {
		t.Fatalf("wait printed %q", got)
	}

	// Raw bytes by default, exactly as the server sent them.
	raw := e.ok("getreplydata", id)
	var reply struct {
		Name   string `json:"name"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	}
	if err := json.Unmarshal([]byte(raw), &reply); err != nil {
		t.Fatalf("getreplydata printed %q: %v", raw, err)
	}
	if reply.Name != "photo.jpg" || reply.Size != int64(len(body)) || reply.SHA256 != sum(body) {
		t.Fatalf("reply %+v", reply)
	}
	var rd struct {
		Size int    `json:"size"`
		Data string `json:"data"`
	}
	e.okJSON(&rd, "getreplydata", id)
	dec, err := base64.StdEncoding.DecodeString(rd.Data)
	if err != nil || string(dec) != raw || rd.Size != len(raw) {
		t.Fatalf("getreplydata --json = %+v (%v), want the raw reply %q", rd, err, raw)
	}
	e.okJSON(&rp, "getreplyprogress", id)
	if rp["bytesTotal"] != float64(len(raw)) || rp["bytesTransferred"] != float64(len(raw)) {
		t.Fatalf("getreplyprogress after the reply %v", rp)
	}
	if got := e.ok("getreplyfilename", id); got != replyFile+"\n" {
		t.Fatalf("getreplyfilename %q", got)
	}
	// The reply file appears only on complete; getreplydata still answers.
	if _, err := os.Stat(replyFile); err == nil {
		t.Fatal("the reply file exists before complete")
	}
	e.fails("BG_E_INVALID_STATE", "setreplyfilename", id, filepath.Join(e.dir, "other.json"))
	e.ok("complete", id)
	if b, err := os.ReadFile(replyFile); err != nil || string(b) != raw {
		t.Fatalf("reply file %q (%v), want %q", b, err, raw)
	}
	if got := e.ok("getreplydata", id); got != raw {
		t.Fatalf("getreplydata after complete %q", got)
	}
	if got, err := os.ReadFile(filepath.Join(in, "photo.jpg")); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("the stored upload differs (%v)", err)
	}

	// Other job types have no reply.
	dl := strings.TrimSpace(e.ok("create", "dl"))
	e.fails("E_NOTIMPL", "getreplyprogress", dl)
	e.fails("E_NOTIMPL", "getreplydata", dl)
}

func TestServeUploadsArguments(t *testing.T) {
	e := newEnv(t)
	r := e.usage("serve-uploads")
	if !strings.Contains(r.stderr, "--dir") {
		t.Fatalf("no --dir: %s", r)
	}
	e.usage("serve-uploads", "--dir", e.dir, "extra")
	e.usage("serve-uploads", "--dir")
	e.usage("serve-uploads", "--dir", e.dir, "--bogus")
	r = e.fails("ERROR_PATH_NOT_FOUND", "serve-uploads", "--dir", filepath.Join(e.dir, "missing"))
	if !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("%s", r)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "missing")); err == nil {
		t.Fatal("serve-uploads created the missing directory")
	}
	e.fails("E_INVALIDARG", "serve-uploads", "--dir", e.writeFile("plain", nil, 0o644))
	e.fails("E_INVALIDARG", "serve-uploads", "--dir", e.dir, "--max-size", "lots")
	e.fails("E_INVALIDARG", "serve-uploads", "--dir", e.dir, "--max-sessions", "0")
	e.fails("E_INVALIDARG", "serve-uploads", "--dir", e.dir, "--listen", "nonsense")
	// A busy port is a clear failure, not a hang.
	srv := e.serveUploads("--dir", t.TempDir(), "--listen", "127.0.0.1:0")
	addr := strings.TrimSuffix(strings.TrimPrefix(srv.url, "http://"), "/")
	e.fails("E_FAIL", "serve-uploads", "--dir", e.dir, "--listen", addr)

	// Beyond loopback only when asked, and then it says so once.
	wide := e.serveUploads("--dir", t.TempDir(), "--listen", "0.0.0.0:0", "--max-sessions", "3")
	if !strings.HasPrefix(wide.url, "http://0.0.0.0:") {
		t.Fatalf("printed %q", wide.url)
	}
	wide.stop(t)
	if n := strings.Count(wide.stderrText(), "ferry: warning:"); n != 1 || !strings.Contains(wide.stderrText(), "other machines") {
		t.Fatalf("want one warning about other machines, got %d:\n%s", n, wide.stderrText())
	}
	if out := e.ok("help", "serve-uploads"); !strings.Contains(out, "--max-size BYTES") || !strings.Contains(out, "Example:\n  ferry serve-uploads") {
		t.Fatalf("help serve-uploads:\n%s", out)
	}
	if e.enginePID() != 0 {
		t.Fatal("serve-uploads started an engine")
	}
}

func TestSecurityFlags(t *testing.T) {
	e := newEnv(t)
	id := strings.TrimSpace(e.ok("create", "tls"))
	if got := e.ok("getsecurityflags", id); got != "0\n" {
		t.Fatalf("default getsecurityflags %q", got)
	}
	e.ok("setsecurityflags", id, "0x80E")
	var f int
	e.okJSON(&f, "getsecurityflags", id)
	if f != 0x80E {
		t.Fatalf("getsecurityflags --json %d", f)
	}
	e.ok("/setsecurityflags", id, "264") // decimal: 0x108
	if got := e.ok("/getsecurityflags", id); got != "264\n" {
		t.Fatalf("getsecurityflags %q", got)
	}
	for _, bad := range []string{"0x20", "0x300", "0x400", "4096"} {
		e.fails("E_NOTIMPL", "setsecurityflags", id, bad)
	}
	e.fails("E_INVALIDARG", "setsecurityflags", id, "lots")
	e.fails("E_INVALIDARG", "setsecurityflags", id, "-1")
	if got := e.ok("getsecurityflags", id); got != "264\n" {
		t.Fatalf("a refused value changed the flags: %q", got)
	}
	e.fails("BG_E_NOT_FOUND", "getsecurityflags", "nosuchjob")
}

// writeCertPair writes a self-signed certificate and its key as PEM files.
func writeCertPair(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "ferry test client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestClientCertificate(t *testing.T) {
	e := newEnv(t)
	certFile, keyFile := writeCertPair(t, e.dir)
	id := strings.TrimSpace(e.ok("create", "--upload", "mtls"))
	if got := e.ok("getclientcertificate", id); got != "none\n" {
		t.Fatalf("getclientcertificate without one %q", got)
	}
	var none json.RawMessage
	e.okJSON(&none, "getclientcertificate", id)
	if string(none) != "null" {
		t.Fatalf("getclientcertificate --json without one: %s", none)
	}
	// Relative paths are made absolute by the client.
	e.ok("setclientcertificate", id, "client.crt", "client.key")
	var cc map[string]string
	e.okJSON(&cc, "getclientcertificate", id)
	if cc["certFile"] != certFile || cc["keyFile"] != keyFile || len(cc) != 2 {
		t.Fatalf("getclientcertificate --json %v", cc)
	}
	if out := e.ok("getclientcertificate", id); !strings.Contains(out, certFile) || !strings.Contains(out, keyFile) {
		t.Fatalf("getclientcertificate %q", out)
	}
	if out := e.ok("info", id, "--json"); strings.Contains(out, "PRIVATE KEY") {
		t.Fatal("info shows the key")
	}
	// Bad files are refused and change nothing.
	e.fails("ERROR_FILE_NOT_FOUND", "setclientcertificate", id, filepath.Join(e.dir, "none.crt"), keyFile)
	e.fails("E_INVALIDARG", "setclientcertificate", id, certFile, certFile)
	e.okJSON(&cc, "getclientcertificate", id)
	if cc["certFile"] != certFile {
		t.Fatalf("a refused certificate replaced the good one: %v", cc)
	}
	r := e.run("removeclientcertificate", id)
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("removeclientcertificate\n%s", r)
	}
	r = e.run("/removeclientcertificate", id)
	if r.code != 0 || !strings.Contains(r.stderr, "S_FALSE") {
		t.Fatalf("a second removeclientcertificate should note S_FALSE\n%s", r)
	}
	if got := e.ok("getclientcertificate", id); got != "none\n" {
		t.Fatalf("getclientcertificate after remove %q", got)
	}
	// TakeOwnership removes it, as BITS does.
	e.ok("setclientcertificate", id, certFile, keyFile)
	e.ok("takeownership", id)
	if got := e.ok("getclientcertificate", id); got != "none\n" {
		t.Fatalf("getclientcertificate after takeownership %q", got)
	}
}

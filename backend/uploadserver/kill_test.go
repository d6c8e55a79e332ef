package uploadserver_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/store"
	"ferry/backend/transfer"
	"ferry/backend/uploadserver"
)

// The server kill test runs the upload server in a child process (this
// test binary, re-executed); init catches the child before the tests run.
func init() {
	if os.Getenv("FERRY_UPLOADSERVER_CHILD") != "" {
		os.Exit(serverChild())
	}
}

func serverChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stdout, nil))
	err := uploadserver.ListenAndServe(ctx, os.Getenv("FERRY_ADDR"), uploadserver.Config{Dir: os.Getenv("FERRY_DIR"), Logger: log},
		func(a net.Addr) { fmt.Println("ready", a) })
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	return 0
}

// serverProc is a running child server with its output.
type serverProc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	ready chan struct{}
}

func startServer(t *testing.T, addr, dir string) *serverProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FERRY_UPLOADSERVER_CHILD=1", "FERRY_ADDR="+addr, "FERRY_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, ready: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l := sc.Text()
			p.mu.Lock()
			p.lines = append(p.lines, l)
			p.mu.Unlock()
			if strings.HasPrefix(l, "ready") {
				close(p.ready)
			}
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	select {
	case <-p.ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("the upload server did not start: %v", p.output())
	}
	return p
}

func (p *serverProc) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

func (p *serverProc) count(msg string) int {
	n := 0
	for _, l := range p.output() {
		if strings.Contains(l, `msg="`+msg+`"`) {
			n++
		}
	}
	return n
}

func (p *serverProc) kill9() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServerKill9ThenResume(t *testing.T) {
	const size = 24 << 20
	addr, dir := freeAddr(t), t.TempDir()
	srv := startServer(t, addr, dir)

	work := t.TempDir()
	data := make([]byte, size)
	_, _ = rand.NewChaCha8([32]byte{42}).Read(data)
	local := filepath.Join(work, "payload.bin")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(work, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := engine.New(engine.Config{Store: st, Owner: "tester", Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Drivers: []transfer.Driver{transfer.NewHTTP(transfer.HTTPConfig{StallTimeout: 5 * time.Second})}, UploadFragmentSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Start()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.SetSetting(engine.KeyBandwidthNormal, "8M"))
	in, err := m.CreateJob("kill-server", bits.TypeUpload)
	must(err)
	must(m.AddFile(in.ID, engine.FileSpec{RemoteName: "http://" + addr + "/inbox/payload.bin", LocalName: local}))
	must(m.Resume(in.ID))
	info := func() bits.JobInfo {
		i, err := m.Info(in.ID)
		must(err)
		return i
	}
	waitFor(t, "8 MiB uploaded", func() bool { return info().Progress.BytesTransferred >= 8<<20 })
	srv.kill9()
	waitFor(t, "the job to notice", func() bool { return info().State == bits.StateTransientError })
	if e := info().Error; e == nil || e.Context != bits.ContextGeneralTransport {
		t.Fatalf("error after the server died: %+v", e)
	}
	srv2 := startServer(t, addr, dir)
	must(m.Resume(in.ID))
	waitFor(t, "TRANSFERRED", func() bool { return info().State == bits.StateTransferred })
	got, err := os.ReadFile(filepath.Join(dir, "inbox", "payload.bin"))
	must(err)
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatal("SHA-256 differs after kill -9 of the server")
	}
	if n := srv.count("upload session created") + srv2.count("upload session created"); n != 1 {
		t.Fatalf("%d sessions: the restarted server must resume the one it had", n)
	}
	if srv2.count("upload sessions restored") != 1 {
		t.Fatalf("the restarted server restored no session: %v", srv2.output())
	}
	_, err = m.Complete(in.ID)
	must(err)
}

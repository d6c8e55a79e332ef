// Package testenv starts real Debian daemons (nginx, tinyproxy) on free
// loopback ports for tests, each in its own temporary directory and stopped
// by t.Cleanup. A missing binary fails the test: a skipped check would be
// counted as a pass.
package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary finds a daemon in PATH or in the sbin directories a non-root PATH lacks.
func binary(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Fatalf("testenv: %s is not installed (Debian package %q); run `make deps`", name, pkg)
	return ""
}

// freePort picks a loopback port that was free a moment ago; start retries
// when a daemon loses the race for it.
func freePort(t testing.TB) int {
	t.Helper()
	p, err := freePortNoTB()
	if err != nil {
		t.Fatalf("testenv: no free port: %v", err)
	}
	return p
}

func freePortNoTB() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects a daemon's output for error messages.
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

// daemon is one started process.
type daemon struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// launch runs argv and waits until port accepts connections. It returns
// nil (after stopping the process) when the daemon died before listening,
// so that the caller can retry on another port.
func launch(t testing.TB, dir string, port int, argv ...string) (*daemon, string) {
	t.Helper()
	d := &daemon{cmd: exec.Command(argv[0], argv[1:]...), out: &syncBuffer{}, done: make(chan struct{})}
	d.cmd.Dir = dir
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.cmd.SysProcAttr = procAttr()
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("testenv: start %s: %v", argv[0], err)
	}
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			return nil, d.out.String()
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return d, ""
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.stop()
	t.Fatalf("testenv: %s did not listen on %s within 10s; output:\n%s", argv[0], addr, d.out.String())
	return nil, ""
}

// stop sends SIGTERM, then SIGKILL if the daemon lingers.
func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

// start launches a daemon whose config depends on its port, retrying on
// another port if it dies at startup (most often: port taken meanwhile).
func start(t testing.TB, name string, config func(port int) (argv []string, dir string)) int {
	t.Helper()
	var outputs []string
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		argv, dir := config(port)
		d, out := launch(t, dir, port, argv...)
		if d != nil {
			t.Cleanup(d.stop)
			return port
		}
		outputs = append(outputs, out)
	}
	t.Fatalf("testenv: %s failed to start 3 times; output:\n%s", name, strings.Join(outputs, "\n---\n"))
	return 0
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

//go:build unix

// The command-line tests drive the unix build of ferry (signals, flock,
// setsid, FIFOs); scripts/windows/session.sh is their Windows counterpart.

package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ferryBin is the ferry binary under test, built once by TestMain.
var ferryBin string

func TestMain(m *testing.M) {
	// The engines these tests start never read the machine's network cost
	// (a metered laptop would hold their jobs): no system bus, unless a
	// test sets up its own (cost_linux_test.go).
	os.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/ferry-test-no-system-bus")
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		// Fuzzing (FuzzParseCommand, in-process): every worker runs
		// TestMain, and none needs the binary.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "ferry-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Other users must be able to run it (the socket test runs it as nobody).
	_ = os.Chmod(dir, 0o755)
	ferryBin = filepath.Join(dir, "ferry")
	if err := buildFerry(ferryBin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildFerry builds the real command line, cmd/ferry (the root package is
// the desktop app, which runs no commands).
func buildFerry(out string) error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-o", out, "./cmd/ferry")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if outp, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build ferry: %v\n%s", err, outp)
	}
	return nil
}

// result is one finished command.
type result struct {
	args   []string
	stdout string
	stderr string
	code   int
}

func (r result) String() string {
	return fmt.Sprintf("ferry %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// env is one FERRY_HOME with helpers to run ferry in it.
type env struct {
	t    *testing.T
	home string
	dir  string // a scratch directory for downloads and scripts
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, home: filepath.Join(t.TempDir(), "home"), dir: t.TempDir()}
	t.Cleanup(e.stopEngine)
	return e
}

// environ is the environment of a ferry process of this test.
func (e *env) environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FERRY_HOME=") {
			out = append(out, kv)
		}
	}
	return append(out, "FERRY_HOME="+e.home)
}

// run runs ferry and returns what it did (it never hangs for long).
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runInput("", args...)
}

func (e *env) runInput(stdin string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ferryBin, args...)
	cmd.Env = e.environ()
	cmd.Dir = e.dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{args: args, stdout: out.String(), stderr: errb.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			e.t.Fatalf("ferry %v: %v", args, err)
		}
		r.code = ee.ExitCode()
	}
	if ctx.Err() != nil {
		e.t.Fatalf("ferry %v did not finish within 60 s\n%s", args, r)
	}
	return r
}

// ok runs ferry and fails the test unless it exits 0; it returns stdout.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("unexpected failure\n%s", r)
	}
	return r.stdout
}

// okJSON runs ferry --json and decodes stdout into v.
func (e *env) okJSON(v any, args ...string) {
	e.t.Helper()
	out := e.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		e.t.Fatalf("ferry %v --json: %v\n%s", args, err, out)
	}
}

var errLine = regexp.MustCompile(`^ferry: ([A-Z0-9_]+) \((0x[0-9A-F]{8})\): \S.*\n$`)

// fails runs ferry, wants exit 1 and cli.md's one error line naming code.
func (e *env) fails(code string, args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 1 {
		e.t.Fatalf("want exit 1 with %s\n%s", code, r)
	}
	m := errLine.FindStringSubmatch(r.stderr)
	if m == nil {
		e.t.Fatalf("stderr is not one error line\n%s", r)
	}
	if m[1] != code {
		e.t.Fatalf("want %s, got %s\n%s", code, m[1], r)
	}
	return r
}

// usage runs ferry and wants a usage error (exit 2) with a hint.
func (e *env) usage(args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 2 || !strings.Contains(r.stderr, "usage: ferry") || !strings.HasPrefix(r.stderr, "ferry: ") {
		e.t.Fatalf("want a usage error (exit 2)\n%s", r)
	}
	return r
}

// enginePID is the pid in the lock file, 0 when no engine holds it.
func (e *env) enginePID() int {
	f, err := os.OpenFile(filepath.Join(e.home, "ferry.lock"), os.O_RDWR, 0)
	if err != nil {
		return 0
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return 0
	}
	b, _ := io.ReadAll(f)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// stopEngine shuts the engine down, killing it if it does not go.
func (e *env) stopEngine() {
	if e.enginePID() == 0 {
		return
	}
	if r := e.run("shutdown"); r.code != 0 {
		log, _ := os.ReadFile(filepath.Join(e.home, "ferry.log"))
		e.t.Errorf("shutdown failed\n%s\nengine log:\n%s", r, log)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.enginePID() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if pid := e.enginePID(); pid != 0 {
		e.t.Errorf("engine %d did not stop; killing it", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// waitFor polls cond until it holds or fails the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lineReader collects a process's output lines as they come.
type lineReader struct {
	mu    sync.Mutex
	lines []string
	added chan struct{}
}

func newLineReader(r io.Reader) *lineReader {
	lr := &lineReader{added: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			lr.mu.Lock()
			lr.lines = append(lr.lines, sc.Text())
			lr.mu.Unlock()
			select {
			case lr.added <- struct{}{}:
			default:
			}
		}
	}()
	return lr
}

func (lr *lineReader) snapshot() []string {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return append([]string(nil), lr.lines...)
}

// writeFile writes content to a file of the scratch directory.
func (e *env) writeFile(name string, content []byte, mode os.FileMode) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, content, mode); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// tempFiles lists Ferry's temporary files in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".BIT*.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

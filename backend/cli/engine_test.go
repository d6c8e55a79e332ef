//go:build unix

package cli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ferry/backend/internal/testenv"
)

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// docroot makes a directory of files for nginx and returns its path.
func docroot(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestAutostartNoAutostartAndOneEngine(t *testing.T) {
	e := newEnv(t)
	r := e.fails("ERROR_SERVICE_NOT_ACTIVE", "list", "--no-autostart")
	if e.enginePID() != 0 {
		t.Fatalf("--no-autostart started an engine\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(e.home, "ferry.sock")); err == nil {
		t.Fatal("a socket exists without an engine")
	}
	// Any command starts the engine in the background.
	id := strings.TrimSpace(e.ok("create", "kept"))
	pid := e.enginePID()
	if pid == 0 {
		t.Fatal("no engine after autostart")
	}
	st, err := os.Stat(e.home)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("FERRY_HOME mode %v (%v), want 0700", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Join(e.home, "ferry.sock")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v %v", st, err)
	}
	// The engine runs in its own session, not in the caller's.
	if sid, _ := unix.Getsid(pid); sid != pid {
		t.Errorf("the autostarted engine is not a session leader (sid %d, pid %d)", sid, pid)
	}
	e.ok("list", "--no-autostart")
	// A second engine on the same FERRY_HOME refuses.
	r = e.fails("ERROR_SERVICE_ALREADY_RUNNING", "service")
	if !strings.Contains(r.stderr, "already running") {
		t.Fatalf("%s", r)
	}
	if e.enginePID() != pid {
		t.Fatal("the first engine was disturbed")
	}
	// shutdown stops it and waits until it is gone; a second one is a no-op.
	e.ok("shutdown")
	if e.enginePID() != 0 {
		t.Fatal("engine still holds the lock after shutdown")
	}
	if r := e.run("shutdown"); r.code != 0 {
		t.Fatalf("%s", r)
	}
	e.fails("ERROR_SERVICE_NOT_ACTIVE", "getstate", id, "--no-autostart")
	// The job survived.
	if got := e.ok("getstate", id); got != "SUSPENDED\n" {
		t.Fatalf("after restart: %q", got)
	}
	// Two FERRY_HOMEs never interfere.
	other := newEnv(t)
	var list []any
	other.okJSON(&list, "list")
	if len(list) != 0 || other.enginePID() == e.enginePID() {
		t.Fatalf("another FERRY_HOME sees %v", list)
	}
}

func TestServiceForegroundStopsOnSignal(t *testing.T) {
	e := newEnv(t)
	if err := os.MkdirAll(e.home, 0o700); err != nil {
		t.Fatal(err)
	}
	docs := docroot(t, map[string][]byte{"big.bin": randomBytes(t, 8<<20)})
	base := testenv.Nginx(t, docs)
	start := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(ferryBin, "service")
		cmd.Env = e.environ()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the engine", func() bool {
			return e.enginePID() == cmd.Process.Pid && e.run("list", "--no-autostart").code == 0
		})
		return cmd, &out
	}
	cmd, out := start()
	id := strings.TrimSpace(e.ok("create", "--no-autostart", "big"))
	dest := filepath.Join(e.dir, "big.bin")
	e.ok("addfile", id, base+"/big.bin", dest)
	e.ok("config", "set", "bandwidth.background", "1M") // slow enough to stop it half-way
	e.ok("resume", id)
	var p map[string]float64
	waitFor(t, 10*time.Second, "some progress", func() bool {
		e.okJSON(&p, "getprogress", id)
		return p["bytesTransferred"] > 0
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ferry service after SIGTERM: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "engine stopped") || e.enginePID() != 0 {
		t.Fatalf("output:\n%s", out)
	}
	// A new engine continues from the persisted offset.
	cmd, out = start()
	var q map[string]float64
	e.okJSON(&q, "getprogress", id)
	if q["bytesTransferred"] < 1 {
		t.Fatalf("progress lost over the restart: %v", q)
	}
	e.ok("config", "set", "bandwidth.background", "unlimited")
	if got := e.ok("wait", id, "--timeout", "30"); got != "TRANSFERRED\n" {
		t.Fatalf("wait printed %q", got)
	}
	e.ok("complete", id)
	b, err := os.ReadFile(dest)
	if err != nil || sum(b) != sum(mustRead(t, filepath.Join(docs, "big.bin"))) {
		t.Fatalf("content differs after a stop and restart: %v", err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ferry service after SIGINT: %v\n%s", err, out)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTransferAgainstNginx(t *testing.T) {
	e := newEnv(t)
	a, b := randomBytes(t, 3<<20+17), randomBytes(t, 1000)
	base := testenv.Nginx(t, docroot(t, map[string][]byte{"a.bin": a, "b.bin": b}))
	r := e.run("transfer", base+"/a.bin", filepath.Join(e.dir, "a.bin"), base+"/b.bin", "b.bin")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	if sum(mustRead(t, filepath.Join(e.dir, "a.bin"))) != sum(a) || sum(mustRead(t, filepath.Join(e.dir, "b.bin"))) != sum(b) {
		t.Fatal("content differs")
	}
	// Not a terminal: plain lines, ending with the summary.
	if !strings.Contains(r.stdout, "TRANSFERRED") || !strings.Contains(r.stdout, "Transferred 2 files") {
		t.Fatalf("output:\n%s", r.stdout)
	}
	if n := len(tempFiles(t, e.dir)); n != 0 {
		t.Fatalf("%d temporary files left", n)
	}
	var list []any
	e.okJSON(&list, "list")
	if len(list) != 0 {
		t.Fatalf("the completed job is still listed: %v", list)
	}

	// --json prints the final job; the default priority is FOREGROUND.
	var in map[string]any
	e.okJSON(&in, "transfer", "--name", "one", base+"/b.bin", filepath.Join(e.dir, "b2.bin"))
	if in["state"] != "ACKNOWLEDGED" || in["priority"] != "FOREGROUND" || in["displayName"] != "one" {
		t.Fatalf("transfer --json: %v", in)
	}
	// bitsadmin's spelling: /transfer NAME /priority normal REMOTE LOCAL.
	e.ok("/transfer", "legacy", "/priority", "normal", base+"/b.bin", filepath.Join(e.dir, "b3.bin"))

	// An ERROR prints the error, cancels the job and exits 1.
	r = e.fails("BG_E_HTTP_ERROR_404", "transfer", base+"/missing.bin", filepath.Join(e.dir, "missing.bin"))
	if !strings.Contains(r.stderr, "cancelled") {
		t.Fatalf("%s", r)
	}
	e.okJSON(&list, "list")
	if len(list) != 0 {
		t.Fatalf("the failed job is still listed: %v", list)
	}
	if n := len(tempFiles(t, e.dir)); n != 0 {
		t.Fatalf("%d temporary files left after a failed transfer", n)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "missing.bin")); err == nil {
		t.Fatal("a failed transfer left its local file")
	}
}

func TestTransferInterruptedCancels(t *testing.T) {
	e := newEnv(t)
	base := testenv.Nginx(t, docroot(t, map[string][]byte{"big.bin": randomBytes(t, 16<<20)}))
	e.ok("list") // start the engine first
	cmd := exec.Command(ferryBin, "transfer", "--priority", "low", base+"/big.bin", filepath.Join(e.dir, "big.bin"))
	cmd.Env = e.environ()
	e.ok("config", "set", "bandwidth.background", "1M")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a temporary file", func() bool { return len(tempFiles(t, e.dir)) == 1 })
	var list []map[string]any
	e.okJSON(&list, "list")
	if len(list) != 1 {
		t.Fatalf("list %v", list)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out.String(), "ERROR_CANCELLED") {
		t.Fatalf("after Ctrl-C: %v\n%s", err, out.String())
	}
	if got := e.ok("getstate", list[0]["id"].(string)); got != "CANCELLED\n" {
		t.Fatalf("state after Ctrl-C %q", got)
	}
	if n := len(tempFiles(t, e.dir)); n != 0 {
		t.Fatalf("%d temporary files left after Ctrl-C", n)
	}
}

func TestWait(t *testing.T) {
	e := newEnv(t)
	base := testenv.Nginx(t, docroot(t, map[string][]byte{"a.bin": randomBytes(t, 100000)}))
	id := strings.TrimSpace(e.ok("create", "w"))
	e.ok("addfile", id, base+"/a.bin", filepath.Join(e.dir, "a.bin"))
	// Still SUSPENDED: the timeout prints the state and fails.
	r := e.fails("ERROR_TIMEOUT", "wait", id, "--timeout", "0.3")
	if r.stdout != "SUSPENDED\n" {
		t.Fatalf("%s", r)
	}
	e.ok("resume", id)
	if got := e.ok("wait", id); got != "TRANSFERRED\n" {
		t.Fatalf("wait %q", got)
	}
	var in map[string]any
	e.okJSON(&in, "wait", id)
	if in["state"] != "TRANSFERRED" || in["times"].(map[string]any)["transferCompletionTime"] == nil {
		t.Fatalf("wait --json %v", in)
	}
	e.ok("complete", id)
	if got := e.ok("/wait", id); got != "ACKNOWLEDGED\n" {
		t.Fatalf("wait after complete %q", got)
	}
	// ERROR and CANCELLED exit 1.
	bad := strings.TrimSpace(e.ok("create", "bad"))
	e.ok("addfile", bad, base+"/nope.bin", filepath.Join(e.dir, "nope.bin"))
	e.ok("resume", bad)
	r = e.fails("BG_E_HTTP_ERROR_404", "wait", bad)
	if r.stdout != "ERROR\n" {
		t.Fatalf("%s", r)
	}
	var eo map[string]any
	e.okJSON(&eo, "geterror", bad)
	if eo["name"] != "BG_E_HTTP_ERROR_404" || eo["code"] != "0x80190194" || eo["context"] != "REMOTE_FILE" {
		t.Fatalf("geterror %v", eo)
	}
	e.ok("cancel", bad)
	r = e.fails("ERROR_CANCELLED", "wait", bad)
	if r.stdout != "CANCELLED\n" {
		t.Fatalf("%s", r)
	}
	e.fails("BG_E_NOT_FOUND", "wait", "nosuchjob")

	// --sha256: a mismatch is ERROR with BG_E_VALIDATION_FAILED; a match completes.
	v := strings.TrimSpace(e.ok("create", "verified"))
	e.ok("addfile", v, base+"/a.bin", filepath.Join(e.dir, "v.bin"), "--sha256", strings.Repeat("0", 64))
	e.ok("resume", v)
	e.fails("BG_E_VALIDATION_FAILED", "wait", v)
	e.ok("cancel", v)
	v = strings.TrimSpace(e.ok("create", "verified2"))
	e.ok("addfile", v, base+"/a.bin", filepath.Join(e.dir, "v.bin"), "--sha256="+sum(mustRead(t, filepath.Join(e.dir, "a.bin"))))
	e.ok("resume", v)
	e.ok("wait", v)
}

// Commands started at once in a fresh FERRY_HOME share one engine.
func TestConcurrentAutostart(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	results := make([]result, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.run("create", "j")
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.code != 0 {
			t.Fatalf("%s", r)
		}
	}
	var list []any
	e.okJSON(&list, "list")
	if len(list) != len(results) {
		t.Fatalf("%d jobs, want %d", len(list), len(results))
	}
}

// monitorProc runs `ferry monitor --json` and collects its events.
type monitorProc struct {
	cmd   *exec.Cmd
	lines *lineReader
}

func (e *env) startMonitor() *monitorProc {
	e.t.Helper()
	cmd := exec.Command(ferryBin, "monitor", "--json")
	cmd.Env = e.environ()
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	m := &monitorProc{cmd: cmd, lines: newLineReader(out)}
	e.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return m
}

type monitorEvent struct {
	Event string         `json:"event"`
	Job   map[string]any `json:"job"`
}

func (m *monitorProc) events(t *testing.T) []monitorEvent {
	t.Helper()
	var out []monitorEvent
	for _, l := range m.lines.snapshot() {
		var ev monitorEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Event == "" || ev.Job["id"] == nil {
			t.Fatalf("monitor printed a line that is not an event: %q (%v)", l, err)
		}
		out = append(out, ev)
	}
	return out
}

func (m *monitorProc) waitEvent(t *testing.T, kind, id string) map[string]any {
	t.Helper()
	var job map[string]any
	waitFor(t, 20*time.Second, kind+" event of "+id, func() bool {
		for _, ev := range m.events(t) {
			if ev.Event == kind && ev.Job["id"] == id {
				job = ev.Job
				return true
			}
		}
		return false
	})
	return job
}

func TestMonitorJSONEvents(t *testing.T) {
	e := newEnv(t)
	base := testenv.Nginx(t, docroot(t, map[string][]byte{"a.bin": randomBytes(t, 200000), "b.bin": randomBytes(t, 10)}))
	probe := strings.TrimSpace(e.ok("create", "probe"))
	m := e.startMonitor()
	// The monitor is subscribed once it reports a change.
	waitFor(t, 10*time.Second, "the monitor to subscribe", func() bool {
		e.ok("setdescription", probe, time.Now().String())
		time.Sleep(50 * time.Millisecond)
		return len(m.lines.snapshot()) > 0
	})
	id := strings.TrimSpace(e.ok("create", "watched"))
	created := m.waitEvent(t, "created", id)
	if created["state"] != "SUSPENDED" || created["displayName"] != "watched" {
		t.Fatalf("created event job %v", created)
	}
	e.ok("setnotifyflags", id, "0x1B") // transferred, error, modification, file transferred
	e.ok("addfile", id, base+"/a.bin", filepath.Join(e.dir, "a.bin"))
	e.ok("addfile", id, base+"/b.bin", filepath.Join(e.dir, "b.bin"))
	e.ok("resume", id)
	m.waitEvent(t, "fileTransferred", id)
	done := m.waitEvent(t, "transferred", id)
	if done["state"] != "TRANSFERRED" {
		t.Fatalf("transferred event job %v", done)
	}
	m.waitEvent(t, "modified", id)
	e.ok("complete", id)
	m.waitEvent(t, "acknowledged", id)
	e.ok("cancel", probe)
	m.waitEvent(t, "cancelled", probe)
	bad := strings.TrimSpace(e.ok("create", "bad"))
	e.ok("addfile", bad, base+"/nope", filepath.Join(e.dir, "nope"))
	e.ok("resume", bad)
	errJob := m.waitEvent(t, "error", bad)
	if errJob["error"].(map[string]any)["name"] != "BG_E_HTTP_ERROR_404" {
		t.Fatalf("error event job %v", errJob)
	}
	// The monitor ends with the engine: exit 1, a clear line.
	var errb bytes.Buffer
	m.cmd.Stderr = &errb
	e.ok("shutdown")
	waitErr := make(chan error, 1)
	go func() { waitErr <- m.cmd.Wait() }()
	select {
	case <-waitErr:
	case <-time.After(10 * time.Second):
		t.Fatal("monitor did not end with the engine")
	}
}

func TestNotifyCommandLine(t *testing.T) {
	e := newEnv(t)
	base := testenv.Nginx(t, docroot(t, map[string][]byte{"a.bin": randomBytes(t, 5000)}))
	out := filepath.Join(e.dir, "notified.txt")
	script := e.writeFile("notify.sh", []byte("#!/bin/sh\necho \"$1\" > "+out+"\n"), 0o755)
	marker := filepath.Join(e.dir, "touched")
	id := strings.TrimSpace(e.ok("create", "n"))
	e.ok("addfile", id, base+"/a.bin", filepath.Join(e.dir, "a.bin"))
	// bitsadmin's convention: the parameters start with the program.
	e.ok("setnotifycmdline", id, script, script+" "+id)
	e.ok("resume", id)
	waitFor(t, 20*time.Second, "the notify command line", func() bool {
		b, err := os.ReadFile(out)
		return err == nil && strings.TrimSpace(string(b)) == id
	})
	// Set after the event, it still runs (as BITS).
	id2 := strings.TrimSpace(e.ok("create", "n2"))
	e.ok("addfile", id2, base+"/a.bin", filepath.Join(e.dir, "a2.bin"))
	e.ok("resume", id2)
	e.ok("wait", id2)
	e.ok("setnotifycmdline", id2, "/usr/bin/touch", "touch "+marker)
	waitFor(t, 20*time.Second, "touch to run", func() bool { _, err := os.Stat(marker); return err == nil })
}

// A bitsadmin script from bits-reference §15, ported by changing only the
// program name.
func TestBitsadminScriptPorts(t *testing.T) {
	e := newEnv(t)
	body := randomBytes(t, 300000)
	base := testenv.Nginx(t, docroot(t, map[string][]byte{"file.iso": body}))
	script := e.writeFile("fetch.sh", []byte(`#!/bin/bash
set -euo pipefail
BITSADMIN="${BITSADMIN:-bitsadmin}"
"$BITSADMIN" /create /download myjob
"$BITSADMIN" /addfile myjob "$1" "$2"
"$BITSADMIN" /setpriority myjob HIGH
"$BITSADMIN" /setnotifyflags myjob 3
"$BITSADMIN" /resume myjob
while true; do
    state=$("$BITSADMIN" /getstate myjob)
    case "$state" in
        TRANSFERRED) break ;;
        ERROR) "$BITSADMIN" /geterror myjob; "$BITSADMIN" /cancel myjob; exit 1 ;;
    esac
    sleep 0.1
done
"$BITSADMIN" /info myjob /verbose
"$BITSADMIN" /complete myjob
`), 0o755)
	dest := filepath.Join(e.dir, "file.iso")
	cmd := exec.Command("bash", script, base+"/file.iso", dest)
	cmd.Env = append(e.environ(), "BITSADMIN="+ferryBin)
	cmd.Dir = e.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the ported script failed: %v\n%s", err, out)
	}
	if sum(mustRead(t, dest)) != sum(body) {
		t.Fatal("content differs")
	}
}

// Credentials and custom headers reach the server, also after a restart
// (the password is loaded back from the sealed store).
func TestCredentialsAndHeadersReachServer(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("X-Ferry-Test"))
		mu.Unlock()
		u, p, ok := r.BasicAuth()
		if !ok || u != "alice" || p != "wonder land" {
			w.Header().Set("WWW-Authenticate", `Basic realm="t"`)
			http.Error(w, "who?", http.StatusUnauthorized)
			return
		}
		http.ServeContent(w, r, "f", time.Unix(1700000000, 0), bytes.NewReader([]byte("secret content")))
	}))
	defer srv.Close()
	id := strings.TrimSpace(e.ok("create", "auth"))
	e.ok("addfile", id, srv.URL+"/f", filepath.Join(e.dir, "f"))
	e.ok("setcustomheaders", id, "X-Ferry-Test: 42")
	e.ok("setcredentials", id, "server", "basic", "alice", "wonder land")
	e.stopEngine()
	e.ok("resume", id)
	if got := e.ok("wait", id, "--timeout", "20"); got != "TRANSFERRED\n" {
		t.Fatalf("wait %q", got)
	}
	e.ok("complete", id)
	if string(mustRead(t, filepath.Join(e.dir, "f"))) != "secret content" {
		t.Fatal("content differs")
	}
	mu.Lock()
	first := append([]string(nil), seen...)
	mu.Unlock()
	if len(first) == 0 || first[0] != "42" {
		t.Fatalf("custom header not sent: %q", first)
	}
	// Without credentials the server refuses: ERROR with 401.
	id2 := strings.TrimSpace(e.ok("create", "noauth"))
	e.ok("addfile", id2, srv.URL+"/f", filepath.Join(e.dir, "f2"))
	e.ok("resume", id2)
	e.fails("BG_E_HTTP_ERROR_401", "wait", id2, "--timeout", "20")
}

// The socket refuses clients of another uid, with a clear error and at once.
func TestSocketRefusesOtherUID(t *testing.T) {
	testenv.Need(t, os.Geteuid() == 0, "needs root to run a client as another user")
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatal("setpriv (util-linux) is missing")
	}
	// A FERRY_HOME that nobody may look into: the socket cannot be reached.
	e := newEnv(t)
	e.ok("list")
	asNobody := func(home string) result {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", ferryBin, "list", "--no-autostart")
		cmd.Env = []string{"FERRY_HOME=" + home, "PATH=/usr/bin:/bin", "HOME=/nonexistent"}
		cmd.Dir = "/"
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if ctx.Err() != nil {
			t.Fatal("the client of another uid hung")
		}
		r := result{stdout: out.String(), stderr: errb.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		}
		return r
	}
	r := asNobody(e.home)
	if r.code != 1 || !errLine.MatchString(r.stderr) || !strings.Contains(r.stderr, "E_ACCESSDENIED") {
		t.Fatalf("nobody through a closed directory:\n%+v", r)
	}
	// Modes opened up: the engine itself refuses the peer (SO_PEERCRED).
	open, err := os.MkdirTemp("", "ferry-open-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(open) })
	o := &env{t: t, home: filepath.Join(open, "home"), dir: t.TempDir()}
	t.Cleanup(o.stopEngine) // runs first: the engine stops before its home goes
	o.ok("list")
	for _, p := range []string{open, o.home} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(o.home, "ferry.sock"), 0o666); err != nil {
		t.Fatal(err)
	}
	r = asNobody(o.home)
	if r.code != 1 || !errLine.MatchString(r.stderr) || !strings.Contains(r.stderr, "E_ACCESSDENIED") || !strings.Contains(r.stderr, "uid 65534") {
		t.Fatalf("nobody on an open socket:\n%+v", r)
	}
	if r.stdout != "" {
		t.Fatalf("nobody got data: %q", r.stdout)
	}
}

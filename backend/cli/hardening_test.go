//go:build unix

package cli_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// One truncated job row used to stop the engine from starting ("decode job
// …: unexpected end of JSON input") and so every other job was unreachable.
func TestCorruptJobRowIsSetAsideAndReported(t *testing.T) {
	e := newEnv(t)
	good := strings.TrimSpace(e.ok("create", "good"))
	bad := strings.TrimSpace(e.ok("create", "bad"))
	e.stopEngine()
	db, err := sql.Open("sqlite3", filepath.Join(e.home, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE jobs SET data = substr(data, 1, 30) WHERE id = ?`, bad); err != nil {
		t.Fatal(err)
	}
	db.Close()

	r := e.run("list")
	if r.code != 0 || !strings.Contains(r.stdout, good) || strings.Contains(r.stdout, bad) {
		t.Fatalf("list after the damage\n%s", r)
	}
	want := "ferry: 1 job could not be read; set aside in " + filepath.Join(e.home, "quarantine")
	if !strings.HasPrefix(r.stderr, want) {
		t.Fatalf("stderr %q, want it to start with %q", r.stderr, want)
	}
	// --json stays exactly an array on stdout.
	r = e.run("list", "--json")
	var jobs []map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &jobs) != nil || len(jobs) != 1 || jobs[0]["id"] != good {
		t.Fatalf("list --json\n%s", r)
	}
	var recs []struct{ Kind, Key, Reason, Copy string }
	e.okJSON(&recs, "unreadable")
	if len(recs) != 1 || recs[0].Kind != "job" || recs[0].Key != bad || !strings.Contains(recs[0].Reason, "unexpected end of JSON input") {
		t.Fatalf("unreadable: %+v", recs)
	}
	if b, err := os.ReadFile(recs[0].Copy); err != nil || !strings.Contains(string(b), bad) {
		t.Fatalf("copy %s: %v", recs[0].Copy, err)
	}
	e.ok("setdescription", good, "still served")
	log, _ := os.ReadFile(filepath.Join(e.home, "ferry.log"))
	if !strings.Contains(string(log), "set aside") {
		t.Errorf("the engine log does not mention the record set aside:\n%s", log)
	}
}

// A FIFO as LISTFILE hung the client, and the engine's shutdown then took
// 5.3 s and ended with "deadline exceeded". A 100 MB list was refused only
// after the engine's RSS peaked at 459 MB.
func TestAddFileSetRefusesFIFOAndHugeListsAtOnce(t *testing.T) {
	e := newEnv(t)
	id := strings.TrimSpace(e.ok("create", "lists"))
	fifo := filepath.Join(e.dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e.fails("E_INVALIDARG", "addfileset", id, fifo)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("refusing a FIFO took %v", d)
	}
	huge := filepath.Join(e.dir, "huge.txt")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	line := []byte("http://127.0.0.1:9/file /tmp/ferry-never-written-file\n")
	for n := 0; n < 100<<20; n += len(line) * 1024 {
		f.Write([]byte(strings.Repeat(string(line), 1024)))
	}
	f.Close()
	e.fails("BG_E_TOO_LARGE", "addfileset", id, huge)
	pid := e.enginePID()
	hwm := peakRSS(t, pid)
	t.Logf("engine peak RSS after a FIFO and a 100 MB list: %d MiB", hwm>>20)
	if hwm > 150<<20 {
		t.Errorf("engine peak RSS %d MiB", hwm>>20)
	}
	start = time.Now()
	r := e.run("shutdown")
	if r.code != 0 {
		t.Fatalf("shutdown\n%s", r)
	}
	waitFor(t, 10*time.Second, "the engine to stop", func() bool { return e.enginePID() == 0 })
	t.Logf("shutdown took %v", time.Since(start))
	logb, _ := os.ReadFile(filepath.Join(e.home, "ferry.log"))
	if strings.Contains(string(logb), "stopped with errors") {
		t.Fatalf("the engine stopped with errors:\n%s", logb)
	}
}

// peakRSS is a process's VmHWM in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// Names with newlines, CR or ESC were printed raw by list; text that is not
// UTF-8 was silently turned into U+FFFD on its way to the engine.
func TestControlCharactersEscapedAndNonUTF8Refused(t *testing.T) {
	e := newEnv(t)
	name := "two\nlines\x1b]0;owned\x07\rX"
	id := strings.TrimSpace(e.ok("create", name))
	for _, args := range [][]string{{"list"}, {"list", "--verbose"}, {"info", id}, {"getdisplayname", id}} {
		out := e.ok(args...)
		if strings.ContainsAny(out, "\x1b\x07\r") || !strings.Contains(out, `two\nlines\x1b]0;owned\x07\rX`) {
			t.Errorf("ferry %v printed %q", args, out)
		}
	}
	if n := strings.Count(e.ok("list"), "\n"); n != 2 {
		t.Errorf("list printed %d lines for one job", n)
	}
	var in struct {
		DisplayName string `json:"displayName"`
	}
	e.okJSON(&in, "info", id)
	if in.DisplayName != name {
		t.Fatalf("JSON has %q, want the exact %q", in.DisplayName, name)
	}
	e.fails("E_INVALIDARG", "create", "caf\xe9")
	e.fails("E_INVALIDARG", "addfile", id, "http://127.0.0.1:9/a", filepath.Join(e.dir, "caf\xe9"))
	e.fails("E_INVALIDARG", "setdescription", id, "\xff\xfe")
	var jobs []map[string]any
	e.okJSON(&jobs, "list")
	if len(jobs) != 1 {
		t.Fatalf("a refused create made a job: %v", jobs)
	}
}

// serve-uploads' session limits and timeouts are flags; bad values are
// refused; an empty session goes after --empty-session-timeout.
func TestServeUploadsSessionFlags(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	for _, bad := range [][]string{
		{"--session-timeout", "soon"}, {"--session-timeout", "0s"}, {"--empty-session-timeout", "-5m"},
		{"--max-sessions-per-client", "0"}, {"--session-timeout", "0d"}, {"--quota", "0"}, {"--quota", "lots"},
		{"--max-connections", "0"},
	} {
		e.fails("E_INVALIDARG", append([]string{"serve-uploads", "--dir", dir, "--listen", "127.0.0.1:0"}, bad...)...)
	}
	srv := e.serveUploads("--dir", dir, "--listen", "127.0.0.1:0", "--empty-session-timeout", "1s",
		"--session-timeout", "14d", "--max-sessions", "2", "--quota", "1G", "--max-connections", "16",
		"--max-sessions-per-client", "2")
	create := func() int {
		req, _ := http.NewRequest("BITS_POST", srv.url+"f"+strconv.Itoa(rand.Int()), http.NoBody)
		req.Header.Set("BITS-Packet-Type", "Create-Session")
		req.Header.Set("BITS-Supported-Protocols", "{7df0354d-249b-430f-820d-3d2a9bef4931}")
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if a, b, c := create(), create(), create(); a != 200 || b != 200 || c != 503 {
		t.Fatalf("three fresh sessions with --max-sessions 2: %d %d %d, want 200 200 503", a, b, c)
	}
	if !strings.Contains(srv.stderrText(), "--max-sessions-per-client no longer has an effect") {
		t.Errorf("no warning about --max-sessions-per-client:\n%s", srv.stderrText())
	}
	state := filepath.Join(dir, ".bits-sessions")
	waitFor(t, 30*time.Second, "the empty sessions to expire", func() bool {
		ents, _ := os.ReadDir(state)
		return len(ents) == 0
	})
	if c := create(); c != 200 {
		t.Fatalf("after the expiry: %d", c)
	}
}

//go:build unix

package cli_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The kill -9 loop, everywhere: the engine is killed while a command is in
// flight (config set, addfileset of 10,000 files, complete), and while an
// upload runs (the engine, and the upload server too). After each kill the
// next command autostarts a new engine, and what a command acknowledged
// (exit 0) must be there; what it did not may be there or not, whole,
// never half. make soak (FERRY_SOAK=1) runs 50 kills of each.

func soakKills(short, long int) int {
	if os.Getenv("FERRY_SOAK") != "" {
		return long
	}
	return short
}

// killEngine sends SIGKILL to the running engine and waits until its lock
// is free.
func (e *env) killEngine() {
	e.t.Helper()
	pid := e.enginePID()
	if pid == 0 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	waitFor(e.t, 10*time.Second, "the killed engine's lock", func() bool { return e.enginePID() == 0 })
}

// racedKill runs ferry args while the engine is killed after a random delay
// below within; it reports whether the command acknowledged (exit 0). A
// command cut off by the kill fails with an error line or exit code, never
// hangs.
func (e *env) racedKill(within time.Duration, args ...string) bool {
	e.t.Helper()
	e.ok("list") // an engine is up before the command starts
	cmd := exec.Command(ferryBin, args...)
	cmd.Env = e.environ()
	cmd.Dir = e.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	time.Sleep(time.Duration(rand.Int64N(int64(within))))
	e.killEngine()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err == nil
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		e.t.Fatalf("ferry %s hung after the engine was killed\n%s", strings.Join(args, " "), out.String())
	}
	return false
}

// config set raced with kill -9: every acknowledged value is the one read
// after the restart, or a later one that was being set.
func TestCrashLoopConfigSet(t *testing.T) {
	e := newEnv(t)
	kills := soakKills(15, 50)
	acked, acks := 0, 0
	for i := 1; i <= kills; i++ {
		if e.racedKill(30*time.Millisecond, "config", "set", "bandwidth.background", fmt.Sprintf("%dK", 100+i)) {
			acked, acks = i, acks+1
		}
		got := strings.TrimSpace(e.ok("config", "get", "bandwidth.background"))
		n, err := strconv.Atoi(got) // bytes per second: value i is (100+i) KiB
		if err != nil && got != "unlimited" {
			t.Fatalf("config get bandwidth.background printed %q", got)
		}
		if v := n/1024 - 100; acked > 0 && (err != nil || v < acked || v > i) {
			t.Fatalf("kill %d: bandwidth.background is %q after value %d was acknowledged (last tried %d)", i, got, acked, i)
		}
	}
	t.Logf("config set: %d kill -9, %d acknowledged, none lost", kills, acks)
	if acks == 0 {
		t.Fatal("no config set was acknowledged: the kills came too early to test anything")
	}
}

// addfileset of 10,000 files raced with kill -9: the job holds all of them
// or none, and all when the command said so.
func TestCrashLoopAddFileSet(t *testing.T) {
	e := newEnv(t)
	const n = 10000
	var list strings.Builder
	for i := range n {
		fmt.Fprintf(&list, "https://example.invalid/f%d %s\n", i, filepath.Join(e.dir, "out", fmt.Sprintf("f%d", i)))
	}
	if err := os.MkdirAll(filepath.Join(e.dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	listFile := e.writeFile("list.txt", []byte(list.String()), 0o644)
	e.ok("config", "set", "maxFilesPerJob", strconv.Itoa(n))
	// How long one takes, so that the kills land inside it.
	id := strings.TrimSpace(e.ok("create", "probe"))
	start := time.Now()
	e.ok("addfileset", id, listFile)
	took := time.Since(start)
	e.ok("cancel", id)
	kills := soakKills(6, 50)
	whole, none := 0, 0
	for i := range kills {
		id := strings.TrimSpace(e.ok("create", fmt.Sprintf("set%d", i)))
		ok := e.racedKill(took+took/2, "addfileset", id, listFile)
		var p map[string]float64
		e.okJSON(&p, "getprogress", id)
		switch p["filesTotal"] {
		case n:
			whole++
		case 0:
			if ok {
				t.Fatalf("kill %d: addfileset acknowledged, the job has no file after the restart", i)
			}
			none++
		default:
			t.Fatalf("kill %d: the job holds %v of %d files: half an addfileset", i, p["filesTotal"], n)
		}
		e.ok("cancel", id)
	}
	t.Logf("addfileset of %d files (%v each): %d kill -9, %d whole and %d not added, none half", n, took.Round(time.Millisecond), kills, whole, none)
}

// complete of a job of many files raced with kill -9: afterwards the job is
// ACKNOWLEDGED with every file in place, byte for byte, or still
// TRANSFERRED (and a second complete finishes it); acknowledged means
// ACKNOWLEDGED; no temporary file is left once it is.
func TestCrashLoopComplete(t *testing.T) {
	e := newEnv(t)
	const files = 200
	src := filepath.Join(e.dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for i := range files {
		b := randomBytes(t, 1000+i)
		name := fmt.Sprintf("f%03d", i)
		want[name] = b
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kills := soakKills(8, 50) + 1 // the first completes without a kill
	acked, redone := 0, 0
	var took time.Duration
	for i := range kills {
		dst := filepath.Join(e.dir, fmt.Sprintf("dst%d", i))
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		var list strings.Builder
		for name := range want {
			fmt.Fprintf(&list, "file://%s %s\n", filepath.Join(src, name), filepath.Join(dst, name))
		}
		listFile := e.writeFile(fmt.Sprintf("list%d.txt", i), []byte(list.String()), 0o644)
		id := strings.TrimSpace(e.ok("create", fmt.Sprintf("complete%d", i)))
		e.ok("addfileset", id, listFile)
		e.ok("resume", id)
		if got := e.ok("wait", id, "--timeout", "60"); got != "TRANSFERRED\n" {
			t.Fatalf("wait printed %q", got)
		}
		ok := false
		if took == 0 {
			start := time.Now()
			e.ok("complete", id) // the first one measures how long one takes
			took = time.Since(start)
		} else if ok = e.racedKill(took*3/4, "complete", id); ok {
			acked++
		}
		// A restarted engine purges ACKNOWLEDGED jobs at once: gone means
		// completed (the files below prove it).
		switch r := e.run("getstate", id); {
		case r.code == 0 && r.stdout == "TRANSFERRED\n":
			if ok {
				t.Fatalf("kill %d: complete acknowledged, the job is TRANSFERRED after the restart", i)
			}
			redone++
			e.ok("complete", id)
		case r.code == 0 && r.stdout == "ACKNOWLEDGED\n":
		case r.code == 1 && strings.Contains(r.stderr, "BG_E_NOT_FOUND"):
		default:
			t.Fatalf("kill %d: after a kill during complete\n%s", i, r)
		}
		for name, b := range want {
			got, err := os.ReadFile(filepath.Join(dst, name))
			if err != nil || !bytes.Equal(got, b) {
				t.Fatalf("kill %d: %s differs after complete (%v)", i, name, err)
			}
		}
		if left := tempFiles(t, dst); len(left) != 0 {
			t.Fatalf("kill %d: temporary files left after complete: %v", i, left)
		}
	}
	t.Logf("complete of %d files (%v each): %d kill -9, %d acknowledged, %d completed again after the restart, every file whole", files, took.Round(time.Millisecond), kills-1, acked, redone)
}

// An upload to ferry serve-uploads with the engine killed at evenly spread
// points, and the server killed too every third time (restarted on the
// same port and directory): one file on the server, byte for byte.
func TestCrashLoopUpload(t *testing.T) {
	e := newEnv(t)
	const size = 24 << 20
	in := t.TempDir()
	srv := e.serveUploads("--listen", "127.0.0.1:0", "--dir", in)
	addr := strings.TrimSuffix(strings.TrimPrefix(srv.url, "http://"), "/")
	body := randomBytes(t, size)
	src := e.writeFile("up.bin", body, 0o644)
	e.ok("config", "set", "bandwidth.background", "16M")
	id := strings.TrimSpace(e.ok("create", "--upload", "up"))
	e.ok("addfile", id, srv.url+"up.bin", src)
	e.ok("resume", id)
	kills := soakKills(10, 50)
	serverKills := 0
	for i := range kills {
		target := float64(i+1) * size / float64(kills+1)
		waitFor(t, 60*time.Second, "upload progress", func() bool {
			var p map[string]float64
			e.okJSON(&p, "getprogress", id)
			return p["bytesTransferred"] >= target
		})
		e.killEngine()
		if i%3 == 2 {
			_ = srv.cmd.Process.Signal(syscall.SIGKILL)
			<-srv.done
			srv.stopped = true
			srv = e.serveUploads("--listen", addr, "--dir", in)
			serverKills++
		}
		e.ok("list") // autostart: the job goes on by itself
	}
	if got := e.ok("wait", id, "--timeout", "120"); got != "TRANSFERRED\n" {
		t.Fatalf("wait printed %q", got)
	}
	e.ok("complete", id)
	got, err := os.ReadFile(filepath.Join(in, "up.bin"))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("the stored upload differs after %d engine kills (%d bytes, %v)", kills, len(got), err)
	}
	t.Logf("upload of %d MiB: %d kill -9 of the engine, %d of serve-uploads, the file identical", size>>20, kills, serverKills)
}

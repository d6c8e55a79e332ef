package cli_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"ferry/backend/internal/crashfs"
	"ferry/backend/internal/testsrv"
)

// Power cuts: the engine (FERRY_HOME), its downloads and serve-uploads'
// directory live on crashfs, a FUSE file system of the test's own that
// keeps unsynced writes apart. A scenario of downloads, an addfileset, an
// upload, completes and setting changes runs through the real ferry; at
// operation N of the file system the power goes: the processes are killed,
// and the state that survives is what was fsynced plus any subset of the
// rest (crashfs). On that state the engine starts again ("reboot") and:
// PRAGMA integrity_check is ok; every acknowledged command is there (a job
// created, its files added, a description, a setting, a complete); no job
// is there twice; and once the engine finishes every job, each file is
// byte for byte its source (never bytes of two versions).

// powerCut is one run of the scenario on a fresh crashfs.
type powerCut struct {
	t     *testing.T
	srv   *testsrv.Server
	mnt   string
	fs    *crashfs.FS
	e     *env
	up    *uploadServer
	upSrc string
	acks  []string // what the commands acknowledged, in order
	start int64    // the operations before the scenario
	dev   uint64   // the mount's device number in the scenario
	// devChanged: mounted again on another device number; remounted
	// counts the jobs that could not go on because of it.
	devChanged bool
	remounted  int
	// stuckUploads: uploads whose file the server holds whole but whose
	// job can only retry a 409 (see check).
	stuckUploads int
}

func devOf(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(fi.Sys().(*syscall.Stat_t).Dev)
}

const pcFiles = 8 // files of the addfileset job

func (p *powerCut) crashed() bool {
	select {
	case <-p.fs.Crashed():
		return true
	default:
		return false
	}
}

// do runs a command; it counts as acknowledged when it exits 0 before the
// power went (every later change fails, so a command needing one fails).
func (p *powerCut) do(args ...string) (string, bool) {
	if p.crashed() {
		return "", false
	}
	r := p.e.run(args...)
	return r.stdout, r.code == 0 && !p.crashed()
}

// scenario runs until its end or the power cut; it returns at once after
// the cut.
func (p *powerCut) scenario() {
	ack := func(s string, ok bool) bool {
		if ok {
			p.acks = append(p.acks, s)
		}
		return ok
	}
	if _, ok := p.do("config", "set", "bandwidth.background", "1000K"); !ack("config 1000K", ok) {
		return
	}
	out, ok := p.do("create", "dl")
	if !ack("create dl", ok) {
		return
	}
	dl := strings.TrimSpace(out)
	if _, ok := p.do("addfile", dl, p.srv.URL("/a"), filepath.Join(p.mnt, "dl", "a.bin")); !ack("addfile dl", ok) {
		return
	}
	if _, ok := p.do("setdescription", dl, "first"); !ack("description dl", ok) {
		return
	}
	if _, ok := p.do("resume", dl); !ok {
		return
	}
	if out, ok := p.do("wait", dl, "--timeout", "30"); !ok || out != "TRANSFERRED\n" {
		return
	}
	if _, ok := p.do("complete", dl); !ack("complete dl", ok) {
		return
	}
	out, ok = p.do("create", "set")
	if !ack("create set", ok) {
		return
	}
	set := strings.TrimSpace(out)
	var list strings.Builder
	for i := range pcFiles {
		fmt.Fprintf(&list, "%s %s\n", p.srv.URL(fmt.Sprintf("/s%d", i)), filepath.Join(p.mnt, "dl", fmt.Sprintf("s%d.bin", i)))
	}
	lf := filepath.Join(p.e.dir, "list.txt")
	if err := os.WriteFile(lf, []byte(list.String()), 0o644); err != nil {
		p.t.Fatal(err)
	}
	if _, ok := p.do("addfileset", set, lf); !ack("addfileset set", ok) {
		return
	}
	if _, ok := p.do("config", "set", "bandwidth.background", "2000K"); !ack("config 2000K", ok) {
		return
	}
	if _, ok := p.do("resume", set); !ok {
		return
	}
	if out, ok := p.do("wait", set, "--timeout", "30"); !ok || out != "TRANSFERRED\n" {
		return
	}
	if _, ok := p.do("complete", set); !ack("complete set", ok) {
		return
	}
	out, ok = p.do("create", "--upload", "up")
	if !ack("create up", ok) {
		return
	}
	up := strings.TrimSpace(out)
	if _, ok := p.do("addfile", up, p.up.url+"u.bin", p.upSrc); !ack("addfile up", ok) {
		return
	}
	if _, ok := p.do("resume", up); !ok {
		return
	}
	if out, ok := p.do("wait", up, "--timeout", "30"); !ok || out != "TRANSFERRED\n" {
		return
	}
	ack("complete up", func() bool { _, ok := p.do("complete", up); return ok }())
}

// cut kills what runs on the mount (the power is gone) and unmounts it.
func (p *powerCut) cut() {
	if pid := p.e.enginePID(); pid != 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if p.up != nil && !p.up.stopped {
		_ = p.up.cmd.Process.Signal(syscall.SIGKILL)
		<-p.up.done
		p.up.stopped = true
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := p.fs.Unmount()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("unmount after the power cut: %v", err)
		}
		// The killed engine may take a moment to let go of its files.
		if pid := p.e.enginePID(); pid != 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *powerCut) acked(s string) bool {
	for _, a := range p.acks {
		if a == s {
			return true
		}
	}
	return false
}

// check starts the engine on the state that survived and checks it.
func (p *powerCut) check(st *crashfs.State, label string) {
	t := p.t
	fail := func(format string, a ...any) {
		t.Helper()
		log, _ := os.ReadFile(filepath.Join(p.mnt, "home", "ferry.log"))
		if p.up != nil {
			log = append(log, "\nserve-uploads:\n"+p.up.stderrText()...)
		}
		if len(log) > 4000 {
			log = log[len(log)-4000:]
		}
		t.Fatalf("%s (acknowledged: %v): %s\nengine log (end):\n%s", label, p.acks, fmt.Sprintf(format, a...), log)
	}
	f, err := crashfs.Mount(p.mnt, st, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	p.fs = f
	defer p.cut()
	p.devChanged = devOf(t, p.mnt) != p.dev
	// A real power cut changes the boot id, and the engine then ignores
	// every resume hint (TestCrashHintTrustedOnlyInItsBoot in
	// backend/engine); this "reboot" keeps the machine's boot id, so the
	// hints go as the boot id would make them go.
	if err := os.RemoveAll(filepath.Join(p.mnt, "home", "resume")); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(p.mnt, "home", "ferry.db")
	if _, err := os.Stat(db); err == nil {
		conn, err := sql.Open("sqlite3", "file:"+db) // WAL recovery writes, as the engine would
		if err != nil {
			t.Fatal(err)
		}
		var res string
		err = conn.QueryRow("PRAGMA integrity_check").Scan(&res)
		conn.Close()
		if err != nil || res != "ok" {
			fail("PRAGMA integrity_check: %q, %v", res, err)
		}
	} else if len(p.acks) > 0 {
		fail("the database is gone after acknowledged commands")
	}
	if p.up != nil {
		addr := strings.TrimSuffix(strings.TrimPrefix(p.up.url, "http://"), "/")
		p.up = p.e.serveUploads("--listen", addr, "--dir", filepath.Join(p.mnt, "up"))
	}
	// The setting.
	if p.acked("config 1000K") {
		got := strings.TrimSpace(p.e.ok("config", "get", "bandwidth.background"))
		want := []string{strconv.Itoa(1000 << 10), strconv.Itoa(2000 << 10)}
		if p.acked("config 2000K") {
			want = want[1:]
		}
		if got != want[0] && (len(want) == 1 || got != want[1]) {
			fail("bandwidth.background is %s, want one of %v", got, want)
		}
	}
	var jobs []map[string]any
	p.e.okJSON(&jobs, "list")
	byName := map[string]map[string]any{}
	done := map[string]bool{} // completed, before the cut or now
	for _, j := range jobs {
		name := j["displayName"].(string)
		if byName[name] != nil {
			fail("two jobs named %s", name)
		}
		byName[name] = j
	}
	for _, name := range []string{"dl", "set", "up"} {
		j := byName[name]
		completed := p.acked("complete " + name)
		done[name] = completed
		if p.acked("create "+name) && !completed && j == nil {
			fail("job %s acknowledged, gone after the power cut", name)
		}
		if completed && j != nil && j["state"] != "ACKNOWLEDGED" {
			fail("job %s: complete acknowledged, the job is %v", name, j["state"])
		}
		if j == nil || j["state"] == "ACKNOWLEDGED" || j["state"] == "CANCELLED" {
			continue
		}
		id := j["id"].(string)
		var prog map[string]float64
		p.e.okJSON(&prog, "getprogress", id)
		want := map[string]float64{"dl": 1, "set": pcFiles, "up": 1}[name]
		if (p.acked("addfile "+name) || p.acked("addfileset "+name)) && prog["filesTotal"] != want {
			fail("job %s: %v files after its files were acknowledged, want %v", name, prog["filesTotal"], want)
		}
		if prog["filesTotal"] != 0 && prog["filesTotal"] != want {
			fail("job %s holds %v of %v files", name, prog["filesTotal"], want)
		}
		if p.acked("description dl") && name == "dl" && j["description"] != "first" {
			fail("job dl: description %q after it was acknowledged", j["description"])
		}
		if prog["filesTotal"] == 0 {
			p.e.ok("cancel", id)
			continue
		}
		// The engine finishes what was interrupted.
		p.e.ok("resume", id)
		if out := p.e.run("wait", id, "--timeout", "40"); out.stdout != "TRANSFERRED\n" {
			if p.devChanged && strings.Contains(out.stderr, "was replaced") {
				// A FUSE mount gets a new device number when it is mounted
				// again (a real disk keeps its own): the directory's
				// recorded identity no longer matches, and Ferry refuses to
				// write into it, as it should. Nothing to finish here.
				p.e.ok("cancel", id)
				p.remounted++
				continue
			}
			info := p.e.run("info", id)
			if name == "up" && strings.Contains(info.stdout, "BG_E_HTTP_ERROR_409") {
				// An open defect, not a loss: the power went after
				// serve-uploads moved the file into place but before the
				// session's end was durable on both sides; after the
				// reboot the server sets the session aside (its .part is
				// gone), the client's new session is refused (the file
				// exists, overwriting is off) and the job retries a 409.
				// The file on the server must be whole.
				want, _ := os.ReadFile(p.upSrc)
				got, err := os.ReadFile(filepath.Join(p.mnt, "up", "u.bin"))
				if err != nil || !bytes.Equal(got, want) {
					fail("job up refused with 409 and the server's file differs (%d bytes, %v)", len(got), err)
				}
				p.e.ok("cancel", id)
				p.stuckUploads++
				continue
			}
			fail("job %s after the restart: %s\n%s", name, out, info.stdout)
		}
		p.e.ok("complete", id)
		done[name] = true
	}
	// Every file that is there is whole, and every completed job's are.
	files := map[string][]byte{"a.bin": p.srv.Body("/a")}
	for i := range pcFiles {
		files[fmt.Sprintf("s%d.bin", i)] = p.srv.Body(fmt.Sprintf("/s%d", i))
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(p.mnt, "dl", name))
		if err != nil {
			if (name == "a.bin" && done["dl"]) || (name != "a.bin" && done["set"]) {
				fail("%s is missing after its job completed: %v", name, err)
			}
			continue
		}
		if !bytes.Equal(got, want) {
			fail("%s differs from its source (%d bytes of %d)", name, len(got), len(want))
		}
	}
	if done["up"] {
		want, _ := os.ReadFile(p.upSrc)
		got, err := os.ReadFile(filepath.Join(p.mnt, "up", "u.bin"))
		if err != nil || !bytes.Equal(got, want) {
			fail("the uploaded file differs (%d bytes, %v)", len(got), err)
		}
	}
	p.e.stopEngine()
	if p.up != nil {
		p.up.stop(t)
	}
}

func newPowerCut(t *testing.T, srv *testsrv.Server, upSrc string, crashAt int64, seed uint64) *powerCut {
	mnt := filepath.Join(t.TempDir(), "m")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	st := crashfs.NewState()
	f, err := crashfs.Mount(mnt, st, 0, 0)
	if err != nil {
		t.Skipf("skipped: cannot mount a FUSE file system here: %v", err)
	}
	for _, d := range []string{"home", "dl", "up"} {
		if err := os.Mkdir(filepath.Join(mnt, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// The directories are where the scenario starts: durable.
	base := f.Now()
	_ = f.Unmount()
	f, err = crashfs.Mount(mnt, base, 0, seed)
	if err != nil {
		t.Fatal(err)
	}
	p := &powerCut{t: t, srv: srv, mnt: mnt, fs: f, upSrc: upSrc,
		e: &env{t: t, home: filepath.Join(mnt, "home"), dir: t.TempDir()}}
	t.Cleanup(func() {
		if pid := p.e.enginePID(); pid != 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = p.fs.Unmount()
	})
	p.up = p.e.serveUploads("--listen", "127.0.0.1:0", "--dir", filepath.Join(mnt, "up"))
	// The power goes for every process at once: a command waiting on the
	// engine must not wait out its timeout.
	up := p.up
	go func() {
		<-f.Crashed()
		if pid := p.e.enginePID(); pid != 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = up.cmd.Process.Signal(syscall.SIGKILL)
	}()
	p.start = f.Ops()
	p.dev = devOf(t, mnt)
	f.Arm(crashAt) // counted from the scenario's first command
	return p
}

func TestPowerCut(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: FUSE mounts need root here (CI runs as root)")
	}
	if _, err := exec.LookPath("fusermount"); err != nil {
		if _, err := exec.LookPath("fusermount3"); err != nil {
			t.Skip("skipped: no fusermount")
		}
	}
	srv := testsrv.New(t)
	srv.Handle("/a", testsrv.File{Size: 300 << 10})
	for i := range pcFiles {
		srv.Handle(fmt.Sprintf("/s%d", i), testsrv.File{Size: int64(1000 + 700*i)})
	}
	upSrc := filepath.Join(t.TempDir(), "u.src")
	if err := os.WriteFile(upSrc, randomBytes(t, 200<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	// A run without a cut counts the operations and checks the checks.
	p := newPowerCut(t, srv, upSrc, 0, 0)
	p.scenario()
	total := p.fs.Ops() - p.start
	if !p.acked("complete up") {
		t.Fatalf("the scenario did not finish without a power cut: %v", p.acks)
	}
	st := p.fs.Now()
	p.cut()
	p.check(st, "no power cut")
	points := 50
	if os.Getenv("FERRY_SOAK") != "" {
		points = 1000
	}
	if n, err := strconv.Atoi(os.Getenv("FERRY_POWERCUTS")); err == nil {
		points = n
	}
	remounted, acked, stuck := 0, 0, 0
	defer func() {
		t.Logf("%d power cuts at operations spread over the scenario's %d: %d commands acknowledged before a cut, none lost; %d jobs could not go on after a remount on another device number; %d uploads stuck retrying a 409 with the server's file whole (open defect)", points, total, acked, remounted, stuck)
	}()
	t.Logf("the scenario makes %d file system operations; %d power cuts", total, points)
	for i := range points {
		at := 1 + int64(i)*total/int64(points) + int64(i%3) // spread, and not always on the same kind of operation
		seed := uint64(i + 1)
		p := newPowerCut(t, srv, upSrc, at, seed)
		p.scenario()
		select {
		case <-p.fs.Crashed():
		case <-time.After(10 * time.Second):
			t.Logf("cut %d: operation %d was not reached (the run made %d)", i, at, p.fs.Ops())
		}
		p.cut()
		st := p.fs.Durable()
		if st == nil {
			continue
		}
		p.check(st, fmt.Sprintf("cut %d at operation %d of %d (seed %d)", i, at, total, seed))
		remounted += p.remounted
		stuck += p.stuckUploads
		acked += len(p.acks)
	}
}

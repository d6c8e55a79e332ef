package engine

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
	"ferry/backend/store"
	"ferry/backend/transfer"
)

// The crash test runs a real engine in a child process (this test binary,
// re-executed) and kills it with SIGKILL mid-transfer.
func TestMain(m *testing.M) {
	if os.Getenv("FERRY_CRASH_CHILD") != "" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

// crashChild runs an engine on $FERRY_CRASH_DB; with $FERRY_CRASH_URL it
// first queues a job between those URLs and $FERRY_CRASH_LOCAL (a download,
// or an upload when $FERRY_CRASH_TYPE is "upload"). It prints
// "progress N STATE" lines until killed. $FERRY_CRASH_HINTS is its resume
// hint directory, $FERRY_CRASH_BOOT a boot id standing for another boot.
func crashChild() int {
	st, err := store.Open(os.Getenv("FERRY_CRASH_DB"))
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	if b := os.Getenv("FERRY_CRASH_BOOT"); b != "" {
		bootID = func() string { return b } // another boot: a power cut, not a kill
	}
	m, err := New(Config{Store: st, Owner: "crash",
		Drivers:            []transfer.Driver{transfer.NewHTTP(transfer.HTTPConfig{})},
		CheckpointInterval: time.Second, CheckpointBytes: 4 << 20, ProgressInterval: 20 * time.Millisecond, UploadFragmentSize: 4 << 20,
		HintDir: os.Getenv("FERRY_CRASH_HINTS")})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	evs, _ := m.Subscribe()
	if u := os.Getenv("FERRY_CRASH_URL"); u != "" {
		must := func(err error) {
			if err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
		}
		must(m.SetSetting(KeyBandwidthNormal, "8M"))
		typ := bits.TypeDownload
		if os.Getenv("FERRY_CRASH_TYPE") == "upload" {
			typ = bits.TypeUpload
		}
		in, err := m.CreateJob("crash", typ)
		must(err)
		if c := os.Getenv("FERRY_CRASH_CONNECTIONS"); c != "" {
			must(m.SetProperty(in.ID, "CONNECTIONS", c))
		}
		if r := os.Getenv("FERRY_CRASH_RATE"); r != "" {
			must(m.SetSetting(KeyBandwidthNormal, r))
		}
		// Several files: URLs and local names separated by spaces.
		locals := strings.Fields(os.Getenv("FERRY_CRASH_LOCAL"))
		for i, u := range strings.Fields(u) {
			must(m.AddFile(in.ID, FileSpec{RemoteName: u, LocalName: locals[i]}))
		}
		must(m.Resume(in.ID))
		fmt.Println("job", in.ID)
	}
	m.Start()
	for e := range evs {
		fmt.Println("progress", e.Job.Progress.BytesTransferred, e.Job.State)
	}
	return 0
}

type child struct {
	cmd            *exec.Cmd
	lines          chan string
	sawTransferred bool // progressTo read a TRANSFERRED line
}

func startChild(t *testing.T, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"FERRY_CRASH_CHILD=1"}, env...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 1024)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case c.lines <- sc.Text():
			default: // the test reads only what it needs
			}
		}
		close(c.lines)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return c
}

// until reads the child's output until a progress line passes n bytes, or the state appears.
func (c *child) until(t *testing.T, n int64, state string) int64 {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatal("child exited")
			}
			if strings.HasPrefix(l, "error") {
				t.Fatal(l)
			}
			f := strings.Fields(l)
			if len(f) == 3 && f[0] == "progress" {
				b, _ := strconv.ParseInt(f[1], 10, 64)
				if (n > 0 && b >= n) || f[2] == state {
					return b
				}
			}
		case <-timeout:
			t.Fatal("timed out waiting for the child")
		}
	}
}

func TestCrashKill9MidTransfer(t *testing.T) {
	const size = 40 << 20
	srv := testsrv.New(t)
	srv.Handle("/big", testsrv.File{Size: size})
	dir := t.TempDir()
	db := filepath.Join(dir, "ferry.db")
	local := filepath.Join(dir, "big.bin")

	c := startChild(t, "FERRY_CRASH_DB="+db, "FERRY_CRASH_URL="+srv.URL("/big"), "FERRY_CRASH_LOCAL="+local)
	seen := c.until(t, 13<<20, "")
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
	first := sentBytes(srv)
	t.Logf("killed after the engine reported %d bytes; the server had sent %d", seen, first)

	// A second kill, on the restarted engine, at a later point.
	c = startChild(t, "FERRY_CRASH_DB="+db)
	c.until(t, 27<<20, "")
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()

	c = startChild(t, "FERRY_CRASH_DB="+db)
	c.until(t, 0, "TRANSFERRED")
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_ = c.cmd.Wait()

	// Complete in-process on the same database and compare.
	completeAndCompare(t, db, local, srv.Body("/big"), "two kill -9")
	total := sentBytes(srv)
	redownloaded := total - size
	t.Logf("re-downloaded after two kill -9: %d bytes (%.2f MiB) of %d", redownloaded, float64(redownloaded)/(1<<20), size)
	// Each crash may lose what arrived since the last checkpoint (4 MiB or
	// 1 s at the 8 MiB/s cap) plus what sat in socket buffers.
	if limit := int64(2 * (8<<20 + 4<<20)); redownloaded > limit {
		t.Fatalf("re-downloaded %d bytes, more than two checkpoint windows (%d)", redownloaded, limit)
	}
	var resumed int
	for _, r := range srv.Requests("/big") {
		if r.Method == "GET" && r.Range != "bytes=0-" {
			resumed++
		}
	}
	if resumed < 2 {
		t.Fatalf("%d resumed GETs, want 2: %+v", resumed, srv.Requests("/big"))
	}
}

func sentBytes(srv *testsrv.Server) int64 {
	var n int64
	for _, r := range srv.Requests("/big") {
		if r.Method == "GET" {
			n += r.Sent
		}
	}
	return n
}

// kill -9 in the middle of a download over eight connections: the
// restarted engine goes on with each segment from its recorded offset
// (If-Range on every request), losing at most one checkpoint window.
func TestCrashKill9MidSegmentedTransfer(t *testing.T) {
	const size = 40 << 20
	srv := testsrv.New(t)
	srv.Handle("/big", testsrv.File{Size: size, RateLimit: 1 << 20}) // 8 MiB/s over 8 connections
	dir := t.TempDir()
	db := filepath.Join(dir, "ferry.db")
	local := filepath.Join(dir, "big.bin")

	c := startChild(t, "FERRY_CRASH_DB="+db, "FERRY_CRASH_URL="+srv.URL("/big"), "FERRY_CRASH_LOCAL="+local,
		"FERRY_CRASH_CONNECTIONS=8", "FERRY_CRASH_RATE=unlimited")
	c.until(t, 14<<20, "")
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
	before := len(srv.Requests("/big"))

	// What the killed engine recorded: segments, each with its own offset.
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := st.LoadJobs()
	st.Close()
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs %v, %v", jobs, err)
	}
	segs := jobs[0].Job.Files[0].Segments
	started := 0
	for _, s := range segs {
		if s.Done > s.Start {
			started++
		}
	}
	t.Logf("recorded %d segments, %d of them with bytes: %+v", len(segs), started, segs)
	if started < 4 {
		t.Fatalf("recorded segments %+v: want several with their own offsets", segs)
	}

	c = startChild(t, "FERRY_CRASH_DB="+db)
	c.until(t, 0, "TRANSFERRED")
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_ = c.cmd.Wait()

	resumedAt := map[int64]bool{}
	for _, r := range srv.Requests("/big")[before:] {
		if r.IfRange == "" {
			t.Fatalf("a resumed request without If-Range: %+v", r)
		}
		var a int64
		fmt.Sscanf(r.Range, "bytes=%d-", &a)
		resumedAt[a] = true
	}
	for _, s := range segs {
		if s.Done < s.End && !resumedAt[s.Done] {
			t.Fatalf("segment %+v was not resumed at its offset (requests at %v)", s, resumedAt)
		}
	}

	completeAndCompare(t, db, local, srv.Body("/big"), "kill -9 of a download in segments")
	redownloaded := sentBytes(srv) - size
	t.Logf("re-downloaded after kill -9: %.2f MiB", float64(redownloaded)/(1<<20))
	// One checkpoint window (1 s at 8 MiB/s, or 4 MiB) plus what sat in the
	// socket buffers of eight connections and the bytes of segments cut short.
	if limit := int64(8<<20 + 4<<20 + 8*(1<<20)); redownloaded > limit {
		t.Fatalf("re-downloaded %d bytes, more than one checkpoint window and buffers (%d)", redownloaded, limit)
	}
}

// completeAndCompare opens the crashed engine's database in-process, checks
// that it holds one TRANSFERRED job, completes it and compares the file
// with want; after names what the job went through.
func completeAndCompare(t *testing.T, db, local string, want []byte, after string) {
	t.Helper()
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := New(Config{Store: st, Owner: "crash", Drivers: []transfer.Driver{transfer.NewHTTP(transfer.HTTPConfig{})}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	jobs := m.List(true, false)
	if len(jobs) != 1 || jobs[0].State != bits.StateTransferred {
		t.Fatalf("jobs after %s: %+v", after, jobs)
	}
	if _, err := m.Complete(jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	if fileSHA(t, local) != sha(want) {
		t.Fatalf("SHA-256 differs after %s", after)
	}
}

package engine

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/store"
	"ferry/backend/transfer"
	"ferry/backend/uploadserver"
)

// The upload crash test re-executes this test binary as an engine (like
// crash_test.go); init catches the child before TestMain.
func init() {
	if os.Getenv("FERRY_UPLOAD_CHILD") != "" {
		os.Exit(uploadChild())
	}
}

// uploadChild runs an engine on $FERRY_UPLOAD_DB; with $FERRY_UPLOAD_URL it
// first queues an upload of $FERRY_UPLOAD_LOCAL. It prints "progress N
// STATE" lines until killed.
func uploadChild() int {
	st, err := store.Open(os.Getenv("FERRY_UPLOAD_DB"))
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	m, err := New(Config{Store: st, Owner: "crash",
		Drivers:          []transfer.Driver{transfer.NewHTTP(transfer.HTTPConfig{})},
		ProgressInterval: 20 * time.Millisecond})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	evs, _ := m.Subscribe()
	if u := os.Getenv("FERRY_UPLOAD_URL"); u != "" {
		must := func(err error) {
			if err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
		}
		must(m.SetSetting(KeyBandwidthNormal, "8M"))
		in, err := m.CreateJob("crash-up", bits.TypeUpload)
		must(err)
		must(m.AddFile(in.ID, FileSpec{RemoteName: u, LocalName: os.Getenv("FERRY_UPLOAD_LOCAL")}))
		must(m.Resume(in.ID))
		fmt.Println("job", in.ID)
	}
	m.Start()
	for e := range evs {
		fmt.Println("progress", e.Job.Progress.BytesTransferred, e.Job.State)
	}
	return 0
}

func startUploadChild(t *testing.T, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"FERRY_UPLOAD_CHILD=1"}, env...)...)
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
			default:
			}
		}
		close(c.lines)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return c
}

func TestUploadEngineKill9(t *testing.T) {
	const size = 24 << 20
	srv := newUpServer(t, uploadserver.Config{})
	dir := t.TempDir()
	db := filepath.Join(dir, "ferry.db")
	local := filepath.Join(dir, "big.bin")
	data := writeRandom(t, local, size, 20)

	c := startUploadChild(t, "FERRY_UPLOAD_DB="+db, "FERRY_UPLOAD_URL="+srv.URL+"/big.bin", "FERRY_UPLOAD_LOCAL="+local)
	c.until(t, 8<<20, "")
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()

	c = startUploadChild(t, "FERRY_UPLOAD_DB="+db)
	c.until(t, 16<<20, "")
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()

	c = startUploadChild(t, "FERRY_UPLOAD_DB="+db)
	c.until(t, 0, "TRANSFERRED")
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_ = c.cmd.Wait()

	got, err := os.ReadFile(filepath.Join(srv.dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatal("SHA-256 differs after two kill -9 of the engine")
	}
	if n := srv.count("Create-Session"); n != 1 {
		t.Fatalf("%d Create-Session packets: the restarted engine must resume its session", n)
	}
	// Each restart costs at most the fragment in flight.
	var sent int64
	srv.mu.Lock()
	for i, p := range srv.packets {
		if p == "Fragment" {
			var n int64
			_, _ = fmt.Sscan(srv.headers[i].Get("Content-Length"), &n)
			sent += n
		}
	}
	srv.mu.Unlock()
	t.Logf("sent %d bytes for a %d-byte file after two kill -9", sent, size)
	if sent > size+2*transfer.DefaultFragmentSize {
		t.Fatalf("sent %d bytes, more than the file plus two fragments", sent)
	}
}

package engine

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"ferry/backend/uploadserver"
)

func TestUploadEngineKill9(t *testing.T) {
	const size = 24 << 20
	srv := newUpServer(t, uploadserver.Config{})
	dir := t.TempDir()
	db := filepath.Join(dir, "ferry.db")
	local := filepath.Join(dir, "big.bin")
	data := writeRandom(t, local, size, 20)

	c := startChild(t, "FERRY_CRASH_TYPE=upload", "FERRY_CRASH_DB="+db, "FERRY_CRASH_URL="+srv.URL+"/big.bin", "FERRY_CRASH_LOCAL="+local)
	c.until(t, 8<<20, "")
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()

	c = startChild(t, "FERRY_CRASH_DB="+db)
	c.until(t, 16<<20, "")
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()

	c = startChild(t, "FERRY_CRASH_DB="+db)
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
	if sent > size+2*(4<<20) { // the child's fragments are 4 MiB
		t.Fatalf("sent %d bytes, more than the file plus two fragments", sent)
	}
}

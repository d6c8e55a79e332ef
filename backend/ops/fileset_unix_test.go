//go:build unix

package ops

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ferry/backend/bits"
)

// A FIFO as LISTFILE used to block the engine's handler in open(2) until a
// writer came; it is refused at once now, as are directories and devices.
func TestFileSetRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, what := range map[string]string{fifo: "named pipe", dir: "directory", "/dev/zero": "device"} {
		start := time.Now()
		_, err := readFileSet(path, 200)
		if bits.CodeOf(err) != bits.E_INVALIDARG || !strings.Contains(err.Error(), what) {
			t.Errorf("readFileSet(%s) = %v, want E_INVALIDARG naming a %s", path, err, what)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("refusing %s took %v", path, d)
		}
	}
	// A symbolic link to a regular file is fine.
	list := filepath.Join(dir, "list")
	os.WriteFile(list, []byte("http://h/a /tmp/a\n"), 0o600)
	os.Symlink(list, filepath.Join(dir, "link"))
	if specs, err := readFileSet(filepath.Join(dir, "link"), 200); err != nil || len(specs) != 1 {
		t.Fatalf("through a link: %v %v", specs, err)
	}
}

//go:build unix

package transfer

import (
	"os"
	"path/filepath"
	"testing"

	"ferry/backend/bits"
)

// fileURLForms are the ways to name path (in dir, "src file.bin") as a source.
func fileURLForms(dir, path string) []string {
	return []string{path, "file://" + path, "file://localhost" + path, "file://" + dir + "/src%20file.bin"}
}

func TestFileErrorsUnix(t *testing.T) {
	// Only the local host is a file system here.
	wantCode(t, run(t, NewFile(), Request{URL: "file://server/share/x"}, newTarget(t)), bits.E_INVALIDARG, false, bits.ContextRemoteFile)
	// Root reads anything: the real chmod case runs for other users only
	// (TestFileErrors checks the mapping directly).
	if os.Geteuid() != 0 {
		locked := filepath.Join(t.TempDir(), "locked")
		writeRandom(t, locked, 10)
		if err := os.Chmod(locked, 0); err != nil {
			t.Fatal(err)
		}
		wantCode(t, run(t, NewFile(), Request{URL: locked}, newTarget(t)), bits.E_ACCESSDENIED, false, bits.ContextRemoteFile)
	}
}

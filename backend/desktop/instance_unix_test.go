//go:build unix

package desktop

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// The handshake's socket is a 0600 socket in FERRY_HOME, gone after release.
func TestClaimInstanceSocketFile(t *testing.T) {
	dir := t.TempDir()
	release, _, err := ClaimInstance(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(filepath.Join(dir, instanceSocket))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Type() != fs.ModeSocket || st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a 0600 socket", st.Mode())
	}
	release()
	if _, err := os.Lstat(filepath.Join(dir, instanceSocket)); !os.IsNotExist(err) {
		t.Errorf("socket left after release: %v", err)
	}
}

// A crashed instance leaves its socket file, but not its lock.
func TestClaimInstanceReplacesAStaleSocket(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, instanceSocket))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	release, already, err := ClaimInstance(dir, nil)
	if err != nil || already {
		t.Fatalf("claim over a stale socket: already=%v err=%v", already, err)
	}
	defer release()
	if _, already, err := ClaimInstance(dir, nil); err != nil || !already {
		t.Fatalf("second claim: already=%v err=%v", already, err)
	}
}

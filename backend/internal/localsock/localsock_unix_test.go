//go:build unix

package localsock

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The socket is 0600 whatever the umask, a stale socket file is replaced,
// and any other file in its place is left alone.
func TestListenSocketFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	ln, err := Listen(path)
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	ln.Close()

	regular := filepath.Join(dir, "data")
	if err := os.WriteFile(regular, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ln, err := Listen(regular); err == nil {
		ln.Close()
		t.Fatal("listened in place of a regular file")
	} else if !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("error %q", err)
	}
	if b, _ := os.ReadFile(regular); string(b) != "keep me" {
		t.Errorf("the regular file was changed: %q", b)
	}
}

package localsock

import (
	"path/filepath"
	"strings"
	"testing"
)

// A path too deep for sun_path gets an abstract socket named after it.
func TestDeepPathIsAbstract(t *testing.T) {
	path := filepath.Join(t.TempDir(), strings.Repeat("d", 120), "s.sock")
	addr := Addr(path, "ferry-test")
	if !strings.HasPrefix(addr, "@ferry-test-") || len(addr) > maxPath {
		t.Fatalf("Addr(%d bytes) = %q", len(path), addr)
	}
	c, checked := connected(t, addr)
	c.Write([]byte{1})
	if err := <-checked; err != nil {
		t.Errorf("CheckPeer: %v", err)
	}
}

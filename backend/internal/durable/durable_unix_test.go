//go:build unix

package durable

import (
	"os"
	"path/filepath"
	"testing"
)

// The file keeps the mode it was written with, not the umask's.
func TestWriteFileKeepsItsMode(t *testing.T) {
	name := filepath.Join(t.TempDir(), "rec.json")
	if err := WriteFile(name, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(name); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
}

//go:build unix

package cli_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A database corrupted at the page level (not one bad row, which is set
// aside: TestCorruptJobRowIsSetAsideAndReported) is never silently
// replaced by an empty one: the engine refuses to start, the command says
// so with a BITS error line and where the log is, the log says why, and
// the database file is left exactly as it was for the user to recover.
func TestCorruptDatabasePageIsNeverReset(t *testing.T) {
	e := newEnv(t)
	for i := range 40 {
		id := strings.TrimSpace(e.ok("create", fmt.Sprintf("job-%d", i)))
		e.ok("setdescription", id, strings.Repeat("d", 1000))
	}
	e.stopEngine()
	db := filepath.Join(e.home, "ferry.db")
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8*4096 {
		t.Fatalf("the database has %d bytes: too small to corrupt its pages", len(b))
	}
	for off := 2 * 4096; off+1000 < len(b); off += 2 * 4096 {
		for i := 100; i < 1000; i++ {
			b[off+i] ^= 0x5a
		}
	}
	if err := os.WriteFile(db, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 { // and again: a second start does not "repair" it either
		r := e.run("list")
		if r.code != 1 || !errLine.MatchString(r.stderr) || !strings.Contains(r.stderr, "ferry.log") {
			t.Fatalf("want the BITS error line naming the log\n%s", r)
		}
	}
	after, err := os.ReadFile(db)
	if err != nil || !bytes.Equal(after, b) {
		t.Fatalf("the corrupt database was changed (%d bytes, was %d): %v", len(after), len(b), err)
	}
	log, _ := os.ReadFile(filepath.Join(e.home, "ferry.log"))
	if !strings.Contains(string(log), "malformed") {
		t.Fatalf("the log does not say the database is malformed:\n%s", log)
	}
}

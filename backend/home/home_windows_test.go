//go:build windows

package home

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without FERRY_HOME the data lives in the user's roaming profile,
// %APPDATA%\ferry, as Windows programs keep their settings.
func TestDefaultHomeIsInAppData(t *testing.T) {
	appdata := t.TempDir()
	t.Setenv("APPDATA", appdata)
	t.Setenv(EnvVar, "")
	h, err := Resolve()
	if err != nil || h.Dir != filepath.Join(appdata, "ferry") {
		t.Fatalf("Resolve = %v, %v; want %s", h, err, filepath.Join(appdata, "ferry"))
	}
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(h.Dir); err != nil || !st.IsDir() {
		t.Fatalf("Ensure: %v %v", st, err)
	}
	if Owner() == "" || strings.ContainsAny(Owner(), "\r\n") {
		t.Fatalf("owner %q", Owner())
	}
}

// Drive-letter FERRY_HOMEs stay as given, cleaned.
func TestDriveLetterHome(t *testing.T) {
	h, err := At(`C:\Users\x\..\ferry-home\`)
	if err != nil || h.Dir != `C:\Users\ferry-home` || h.DB() != `C:\Users\ferry-home\ferry.db` {
		t.Fatalf("At = %+v, %v", h, err)
	}
}

// LockFileEx holds against a second open of the same file, and the lock
// goes with the handle.
func TestLockFileExIsExclusive(t *testing.T) {
	h, _ := At(t.TempDir())
	l, err := h.Lock()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(h.LockFile(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if held, err := tryLock(f); err != nil || !held {
		t.Fatalf("tryLock while locked = %v, %v", held, err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if held, err := tryLock(f); err != nil || held {
		t.Fatalf("tryLock after Release = %v, %v", held, err)
	}
	if err := unlock(f); err != nil {
		t.Fatal(err)
	}
}

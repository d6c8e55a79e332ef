//go:build unix

package service

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/home"
)

// FERRY_HOME holds the database, its WAL, the log, the key and the lock: all
// private to the user (0600 in a 0700 directory) even when the directory was
// made by someone else with a loose mode and the umask lets everything
// through; and a password given to setcredentials is in none of them.
func TestHomeIsPrivateAndHoldsNoPlainPassword(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	// Left by an older Ferry or the user: readable by all.
	if err := os.WriteFile(filepath.Join(dir, "ferry.log"), []byte("old log\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, _ := home.At(dir)
	r, err := Start(h)
	if err != nil {
		t.Fatal(err)
	}
	const password = "Planted-Pa55word-7f3c"
	m := r.Manager()
	in, err := m.CreateJob("private", bits.TypeDownload)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetCredentials(in.ID, bits.Credential{Target: bits.AuthTargetServer, Scheme: bits.AuthBasic, UserName: "alice", Password: password}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetCredentials(in.ID, bits.Credential{Target: bits.AuthTargetProxy, Scheme: bits.AuthDigest, UserName: "bob", Password: password}); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		seen := map[string]bool{}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			st, err := os.Lstat(p)
			if err != nil {
				return err
			}
			seen[d.Name()] = true
			switch {
			case d.IsDir():
				if st.Mode().Perm() != 0o700 {
					t.Errorf("%s: directory %s has mode %v, want 0700", when, p, st.Mode().Perm())
				}
				return nil
			case st.Mode().Perm()&0o077 != 0:
				t.Errorf("%s: %s has mode %v, readable by others", when, p, st.Mode().Perm())
			}
			if st.Mode().IsRegular() {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				if bytes.Contains(b, []byte(password)) {
					t.Errorf("%s: %s holds the password in plain text", when, p)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"ferry.db", "ferry.log", "secret.key", "ferry.lock"} {
			if !seen[name] {
				t.Errorf("%s: no %s in FERRY_HOME (seen %v)", when, name, seen)
			}
		}
	}
	check("running") // the WAL and the socket exist now
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	check("stopped")
}

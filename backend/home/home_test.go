package home

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvVar, filepath.Join(dir, "x", "..", "h"))
	h, err := Resolve()
	if err != nil || h.Dir != filepath.Join(dir, "h") {
		t.Fatalf("Resolve = %v, %v", h, err)
	}
	if _, err := os.Stat(h.Dir); !os.IsNotExist(err) {
		t.Fatal("Resolve created the directory")
	}
	t.Setenv(EnvVar, "")
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	h, err = Resolve()
	cfg, _ := os.UserConfigDir()
	if err != nil || h.Dir != filepath.Join(cfg, "ferry") {
		t.Fatalf("default Resolve = %v, %v", h, err)
	}
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(h.Dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("mode %v %v", st.Mode(), err)
	}
	if Owner() == "" {
		t.Fatal("no owner")
	}
}

func TestLockIsExclusive(t *testing.T) {
	h, _ := At(t.TempDir())
	if _, running := h.Running(); running {
		t.Fatal("running before any lock")
	}
	l, err := h.Lock()
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Lock()
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Fatalf("second Lock = %v", err)
	}
	if pid, running := h.Running(); !running || pid != os.Getpid() {
		t.Fatalf("Running = %d %v", pid, running)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, running := h.Running(); running {
		t.Fatal("still running after Release")
	}
	l2, err := h.Lock()
	if err != nil {
		t.Fatal(err)
	}
	l2.Release()
}

func TestSecretBox(t *testing.T) {
	h, _ := At(t.TempDir())
	b, err := h.SecretBox()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := b.Seal([]byte("pw"), []byte("job/a"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(h.SecretKeyFile())
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() != keySize {
		t.Fatalf("key file %v %v", st, err)
	}
	// The same key opens it again later; other additional data does not.
	b2, err := h.SecretBox()
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := b2.Open(sealed, []byte("job/a")); err != nil || string(plain) != "pw" {
		t.Fatalf("Open = %q, %v", plain, err)
	}
	if _, err := b2.Open(sealed, []byte("job/b")); err == nil {
		t.Fatal("opened with the wrong additional data")
	}
	if _, err := b2.Open(sealed[:5], nil); err == nil {
		t.Fatal("opened a truncated secret")
	}
}

// LoadSecretBox never makes a key: a missing key is ErrNoSecretKey and no
// file appears; an existing one loads as SecretBox's does.
func TestLoadSecretBoxNeverCreatesAKey(t *testing.T) {
	h, _ := At(t.TempDir())
	if _, err := h.LoadSecretBox(); !errors.Is(err, ErrNoSecretKey) {
		t.Fatalf("LoadSecretBox without a key: %v, want ErrNoSecretKey", err)
	}
	if _, err := os.Stat(h.SecretKeyFile()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadSecretBox made a key file: %v", err)
	}
	b, err := h.SecretBox()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := b.Seal([]byte("pw"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := h.LoadSecretBox()
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := b2.Open(sealed, nil); err != nil || string(plain) != "pw" {
		t.Fatalf("Open = %q, %v", plain, err)
	}
}

//go:build !windows

package pinned

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func setup(t *testing.T) (dir string, d *Dir, id ID) {
	t.Helper()
	dir = t.TempDir()
	d, err := OpenDir(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	f, id, err := d.Create("ours", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return dir, d, id
}

func TestReopenOnlyTheFileCreated(t *testing.T) {
	dir, d, id := setup(t)
	f, err := d.Reopen("ours", id)
	if err != nil {
		t.Fatalf("the file created: %v", err)
	}
	f.Close()
	f, err = d.Reopen("ours", "") // identity unknown: one link, the name itself
	if err != nil {
		t.Fatalf("unknown identity, a plain file: %v", err)
	}
	f.Close()
	if _, err := d.Reopen("missing", id); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing file: %v", err)
	}

	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	swap := func(make func(string) error) {
		t.Helper()
		// Moved aside, not removed, so that its inode is not recycled.
		os.Rename(filepath.Join(dir, "ours"), filepath.Join(dir, "ours.old"))
		if err := make(filepath.Join(dir, "ours")); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		make func(string) error
	}{
		{"relative symlink", func(p string) error { return os.Symlink("victim", p) }},
		{"absolute symlink", func(p string) error { return os.Symlink(victim, p) }},
		{"hard link", func(p string) error { return os.Link(victim, p) }},
		{"another file", func(p string) error { return os.WriteFile(p, []byte("x"), 0o644) }},
		{"FIFO", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }},
	}
	for _, c := range cases {
		swap(c.make)
		done := make(chan error, 1)
		go func() {
			f, err := d.Reopen("ours", id)
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrChanged) {
				t.Errorf("%s: %v, want ErrChanged", c.name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the open hangs", c.name)
		}
		// Unknown identity still refuses every link, and anything not a
		// plain file with one name.
		if c.name != "another file" {
			if f, err := d.Reopen("ours", ""); err == nil {
				f.Close()
				t.Errorf("%s: opened with an unknown identity", c.name)
			}
		}
		if b, _ := os.ReadFile(victim); string(b) != "keep" {
			t.Fatalf("%s: the victim changed", c.name)
		}
		os.RemoveAll(filepath.Join(dir, "ours"))
		os.Rename(filepath.Join(dir, "ours.old"), filepath.Join(dir, "ours"))
	}
}

func TestCreateNeverFollows(t *testing.T) {
	dir, d, _ := setup(t)
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, "new")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Create("new", 0o644); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("create over a link: %v", err)
	}
	if err := d.Remove("new"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Fatal("removing the link touched its target")
	}
}

func TestOpenDirRefusesAReplacedDirectory(t *testing.T) {
	base := t.TempDir()
	dl, other := filepath.Join(base, "dl"), filepath.Join(base, "other")
	for _, p := range []string{dl, other} {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	id, err := DirID(dl)
	if err != nil {
		t.Fatal(err)
	}
	// A link to the same directory is the same directory.
	alias := filepath.Join(base, "alias")
	if err := os.Symlink(dl, alias); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDir(alias, id)
	if err != nil {
		t.Fatalf("the same directory through a link: %v", err)
	}
	d.Close()
	if err := os.Rename(dl, dl+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, dl); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDir(dl, id); !errors.Is(err, ErrChanged) {
		t.Fatalf("a directory replaced by a link: %v", err)
	}
	os.Remove(dl)
	if err := os.Mkdir(dl, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDir(dl, id); !errors.Is(err, ErrChanged) {
		t.Fatalf("a directory made anew: %v", err)
	}
}

func TestSetModTimeThroughTheHandle(t *testing.T) {
	dir, d, id := setup(t)
	f, err := d.Reopen("ours", id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	when := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := SetModTime(f, when); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "ours"))
	if err != nil || !st.ModTime().Equal(when) {
		t.Fatalf("mtime %v, want %v (%v)", st.ModTime(), when, err)
	}
}

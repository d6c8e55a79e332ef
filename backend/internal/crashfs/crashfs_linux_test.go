package crashfs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func mountT(t *testing.T, st *State, crashAt int64, seed uint64) (*FS, string) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("skipped: no /dev/fuse")
	}
	dir := t.TempDir()
	f, err := Mount(dir, st, crashAt, seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Unmount() })
	return f, dir
}

// What fsync made durable survives every crash; a name survives only when
// its directory was fsynced; unsynced writes survive in any subset.
func TestDurability(t *testing.T) {
	f, dir := mountT(t, NewState(), 0, 1)
	p := filepath.Join(dir, "a")
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	synced := bytes.Repeat([]byte("s"), 3*page)
	fh.Write(synced)
	if err := fh.Sync(); err != nil {
		t.Fatal(err)
	}
	d, _ := os.Open(dir)
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	d.Close()
	fh.Write(bytes.Repeat([]byte("u"), 4*page)) // never synced
	fh.Close()
	if err := os.WriteFile(filepath.Join(dir, "b"), []byte("never named"), 0o644); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for seed := range uint64(40) {
		st := f.lossWith(seed)
		files := st.Files()
		a, ok := files["/a"]
		if !ok || !bytes.Equal(a[:len(synced)], synced) {
			t.Fatalf("seed %d: the synced bytes of a are not all there", seed)
		}
		for _, c := range a[len(synced):] {
			if c != 'u' && c != 0 {
				t.Fatalf("seed %d: a byte no one wrote", seed)
			}
		}
		seen[len(a)] = true
		if _, ok := files["/b"]; ok && seed == 0 {
			_ = ok // b may or may not be there: its name was never synced
		}
	}
	if len(seen) < 2 {
		t.Fatalf("every crash kept the same unsynced tail: %v", seen)
	}
}

// At the crash point the mount stops taking changes and Durable is set.
func TestCrashPoint(t *testing.T) {
	f, dir := mountT(t, NewState(), 5, 7)
	for i := range 10 {
		_ = os.WriteFile(filepath.Join(dir, string(rune('a'+i))), []byte("x"), 0o644)
	}
	select {
	case <-f.Crashed():
	default:
		t.Fatal("no crash after more operations than the crash point")
	}
	if f.Durable() == nil {
		t.Fatal("no durable state after the crash")
	}
	if err := os.WriteFile(filepath.Join(dir, "late"), []byte("x"), 0o644); err == nil {
		t.Fatal("a write after the power went succeeded")
	}
	// The state remounts.
	_ = f.Unmount()
	g, dir2 := mountT(t, f.Durable(), 0, 1)
	if err := os.WriteFile(filepath.Join(dir2, "after"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = g
}

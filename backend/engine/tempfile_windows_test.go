//go:build windows

package engine

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/windows"

	"ferry/backend/internal/durable"
)

func TestHideFileSetsTheAttribute(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".BIT0123.tmp")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := hideFile(p); err != nil {
		t.Fatal(err)
	}
	u, _ := windows.UTF16PtrFromString(p)
	attrs, err := windows.GetFileAttributes(u)
	if err != nil || attrs&windows.FILE_ATTRIBUTE_HIDDEN == 0 {
		t.Fatalf("attributes %#x, %v: not hidden", attrs, err)
	}
	if err := hideFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("hid a missing file")
	}
}

// Complete renames the temporary file onto the local name, which may exist:
// os.Rename must replace it on Windows too (MoveFileEx, REPLACE_EXISTING).
func TestRenameReplacesAnExistingFile(t *testing.T) {
	dir := t.TempDir()
	tmp, dst := filepath.Join(dir, ".BITAB.tmp"), filepath.Join(dir, "out.bin")
	if err := os.WriteFile(tmp, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != "new" {
		t.Fatalf("after rename: %q, %v", b, err)
	}
	if err := durable.SyncDir(dir); err != nil {
		t.Fatal(err)
	}
}

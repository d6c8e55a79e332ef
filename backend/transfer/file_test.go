package transfer

import (
	"crypto/rand"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ferry/backend/bits"
)

func writeRandom(t *testing.T, path string, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFileDownload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "src file.bin")
	want := writeRandom(t, path, mb+3)
	for _, u := range fileURLForms(dir, path) {
		m := newTarget(t)
		if err := run(t, NewFile(), Request{URL: u}, m); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		wantBytes(t, m.bytes(), want)
		st, _ := os.Stat(path)
		if v := m.validator(); v.Size != mb+3 || v.LastModified != st.ModTime().UTC().Format(http.TimeFormat) {
			t.Fatalf("validator %+v", v)
		}
	}
}

func TestFileResumeAndChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.bin")
	want := writeRandom(t, path, 600<<10)
	d := NewFile()
	m := newTarget(t)
	m.failAt = 300 << 10 // the target fails mid-way: local error, bytes kept
	err := run(t, d, Request{URL: path}, m)
	wantCode(t, err, bits.E_FAIL, false, bits.ContextLocalFile)
	if n := len(m.bytes()); n == 0 || n > 300<<10 {
		t.Fatalf("kept %d bytes", n)
	}
	if err := run(t, d, m.resume(path, Options{}), m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), want)
	if m.resets != 0 {
		t.Fatalf("resume reset %d times", m.resets)
	}

	// Same size, new content and mtime: restart from 0.
	m2 := newTarget(t)
	m2.failAt = 300 << 10
	wantCode(t, run(t, d, Request{URL: path}, m2), bits.E_FAIL, false, bits.ContextLocalFile)
	newer := writeRandom(t, path, 600<<10)
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if err := run(t, d, m2.resume(path, Options{}), m2); err != nil {
		t.Fatal(err)
	}
	if m2.resets != 1 {
		t.Fatalf("resets %d, want 1", m2.resets)
	}
	wantBytes(t, m2.bytes(), newer)
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	te := wantCode(t, run(t, NewFile(), Request{URL: filepath.Join(dir, "missing")}, newTarget(t)), bits.ERROR_FILE_NOT_FOUND, false, bits.ContextRemoteFile)
	if te.Protocol != "file" {
		t.Fatalf("protocol %q", te.Protocol)
	}
	wantCode(t, run(t, NewFile(), Request{URL: dir}, newTarget(t)), bits.E_ACCESSDENIED, false, bits.ContextRemoteFile)
	wantCode(t, run(t, NewFile(), Request{URL: "relative/x"}, newTarget(t)), bits.E_INVALIDARG, false, bits.ContextRemoteFile)
	wantCode(t, openErr(&fs.PathError{Op: "open", Path: "x", Err: fs.ErrPermission}), bits.E_ACCESSDENIED, false, bits.ContextRemoteFile)
	if !errors.Is(openErr(fs.ErrNotExist), fs.ErrNotExist) {
		t.Fatal("cause not kept")
	}
}

// Package durable writes files so that they survive a crash or a power cut:
// whole or not at all. It is the one copy of the fsync-rename-fsync dance
// for Ferry's packages (the store's quarantine copies, the upload server's
// session records).
package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// WriteFile replaces name with data atomically and durably: the data goes
// to name+".tmp", is fsynced, renamed over name, and the directory is
// fsynced so that the rename is recorded too. perm applies to a new file.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	tmp := name + ".tmp"
	// A leftover (or planted) tmp is removed, never opened: O_EXCL makes a
	// new file and follows no link.
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", name, err)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := finish(f, data); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return SyncDir(filepath.Dir(name))
}

// WriteFileIn is WriteFile inside r: name is slash-separated and relative
// to it, and nothing outside r is touched.
func WriteFileIn(r *os.Root, name string, data []byte, perm os.FileMode) error {
	tmp := name + ".tmp"
	if err := r.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", name, err)
	}
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := finish(f, data); err != nil {
		_ = r.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := r.Rename(tmp, name); err != nil {
		_ = r.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return SyncDirIn(r, path.Dir(name))
}

// finish writes data, fsyncs and closes f.
func finish(f *os.File, data []byte) error {
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	return errors.Join(werr, serr, cerr)
}

//go:build windows

package durable

import (
	"fmt"
	"os"
)

// On Windows a directory has no fsync: os.Open gives a read-only handle,
// which FlushFileBuffers refuses (Access denied), so every Complete failed
// after its rename. NTFS journals its metadata, renames included, itself.
// The directory is still opened, so a missing one is reported as on unix.

// SyncDir checks that dir exists; see above.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return d.Close()
}

// SyncDirIn is SyncDir for a directory inside r ("." is r itself).
func SyncDirIn(r *os.Root, dir string) error {
	d, err := r.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return d.Close()
}

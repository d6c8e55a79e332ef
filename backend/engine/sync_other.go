//go:build !linux

package engine

import (
	"os"
	"path/filepath"

	"ferry/backend/internal/durable"
)

// syncFiles makes the files' data durable, one fsync each (F_FULLFSYNC on
// macOS, where Go's Sync uses it), then their directories' entries (a new
// temporary file's name is durable only then; on Windows NTFS journals it
// and durable.SyncDir only checks the directory).
func syncFiles(files []*os.File) error {
	dirs := map[string]bool{}
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return err
		}
		dirs[filepath.Dir(f.Name())] = true
	}
	for d := range dirs {
		if err := durable.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

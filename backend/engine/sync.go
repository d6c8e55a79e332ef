package engine

import (
	"os"
	"path/filepath"

	"ferry/backend/internal/durable"
)

// syncEach fsyncs the files, then each of their directories once.
func syncEach(files []*os.File) error {
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

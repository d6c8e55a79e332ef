//go:build !linux

package engine

import "os"

// syncFiles makes the files' data durable, one fsync each (F_FULLFSYNC on
// macOS, where Go's Sync uses it).
func syncFiles(files []*os.File) error {
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}

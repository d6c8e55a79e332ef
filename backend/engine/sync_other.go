//go:build !linux

package engine

import "os"

// syncFiles makes the files' data durable, one fsync each (F_FULLFSYNC on
// macOS, where Go's Sync uses it), then their directories' entries (a new
// temporary file's name is durable only then; on Windows NTFS journals it
// and durable.SyncDir only checks the directory).
func syncFiles(files []*os.File) error { return syncEach(files) }

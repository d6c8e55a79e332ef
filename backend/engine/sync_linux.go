package engine

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFiles makes the files' data durable. On Linux one syncfs per file
// system covers any number of files (and their directory entries), where
// an fsync each would cost a journal commit each: this is what lets many
// small files share one checkpoint.
func syncFiles(files []*os.File) error {
	if len(files) == 1 {
		return files[0].Sync()
	}
	seen := map[uint64]bool{}
	for _, f := range files {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			return &os.PathError{Op: "fstat", Path: f.Name(), Err: err}
		}
		if seen[st.Dev] {
			continue
		}
		seen[st.Dev] = true
		if err := unix.Syncfs(int(f.Fd())); err != nil {
			return &os.PathError{Op: "syncfs", Path: f.Name(), Err: err}
		}
	}
	return nil
}

package engine

import (
	"os"

	"golang.org/x/sys/unix"
)

// fuseMagic is statfs's f_type of a FUSE file system.
const fuseMagic = 0x65735546

// syncFiles makes the files' data, and their names in their directories,
// durable. On Linux one syncfs per file system covers any number of files
// and their directory entries, where an fsync each would cost a journal
// commit each: this is what lets many small files share one checkpoint.
// But the kernel does not pass syncfs on to a FUSE server (only to
// virtiofs): there each file and directory gets its own fsync, or a power
// cut loses what was recorded as durable. One file gets an fsync and its
// directory one too (a new temporary file's name is only durable then; a
// power-cut test found a TRANSFERRED job whose file was gone).
func syncFiles(files []*os.File) error {
	var each []*os.File
	seen := map[uint64]bool{}
	for _, f := range files {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			return &os.PathError{Op: "fstat", Path: f.Name(), Err: err}
		}
		if len(files) == 1 {
			each = append(each, f)
			break
		}
		var fs unix.Statfs_t
		if err := unix.Fstatfs(int(f.Fd()), &fs); err != nil {
			return &os.PathError{Op: "fstatfs", Path: f.Name(), Err: err}
		}
		if fs.Type == fuseMagic {
			each = append(each, f)
			continue
		}
		if seen[st.Dev] {
			continue
		}
		seen[st.Dev] = true
		if err := unix.Syncfs(int(f.Fd())); err != nil {
			return &os.PathError{Op: "syncfs", Path: f.Name(), Err: err}
		}
	}
	return syncEach(each)
}

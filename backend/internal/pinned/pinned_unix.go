//go:build unix

package pinned

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const nonblock = syscall.O_NONBLOCK

// FileID returns f's identity and its number of links.
func FileID(f *os.File) (ID, uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return "", 0, err
	}
	return ID(fmt.Sprintf("%x:%x", uint64(st.Dev), st.Ino)), uint64(st.Nlink), nil
}

// infoID is the identity in an Lstat result.
func infoID(fi fs.FileInfo) (ID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	return ID(fmt.Sprintf("%x:%x", uint64(st.Dev), st.Ino)), true
}

// SetModTime sets f's access and modification times through its handle.
func SetModTime(f *os.File, t time.Time) error {
	tv := unix.NsecToTimeval(t.UnixNano())
	return unix.Futimes(int(f.Fd()), []unix.Timeval{tv, tv})
}

func syncDir(f *os.File) error { return f.Sync() }

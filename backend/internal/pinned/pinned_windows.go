package pinned

import (
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

const nonblock = 0

// FileID returns f's identity and its number of links.
func FileID(f *os.File) (ID, uint64, error) {
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(f.Fd()), &info); err != nil {
		return "", 0, err
	}
	if info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 && info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY == 0 {
		// A reparse point itself, not what it leads to: never ours.
		return "", 0, ErrChanged
	}
	return ID(fmt.Sprintf("%x:%x%08x", info.VolumeSerialNumber, info.FileIndexHigh, info.FileIndexLow)), uint64(info.NumberOfLinks), nil
}

// infoID: Lstat's result carries no file index on Windows; the handle's
// identity and link count are checked instead.
func infoID(fs.FileInfo) (ID, bool) { return "", false }

// SetModTime sets f's access and modification times through its handle.
func SetModTime(f *os.File, t time.Time) error {
	ft := windows.NsecToFiletime(t.UnixNano())
	return windows.SetFileTime(windows.Handle(f.Fd()), nil, &ft, &ft)
}

// syncDir: Windows refuses to flush a directory, and NTFS journals renames.
func syncDir(*os.File) error { return nil }

//go:build windows

package engine

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// syncDir does nothing on Windows: a directory cannot be opened for
// FlushFileBuffers by os.Open (Access denied), and NTFS journals renames
// (its metadata) itself.
func syncDir(string) error { return nil }

// hideFile sets FILE_ATTRIBUTE_HIDDEN, which is what hides BITS' own
// BIT*.tmp files in Explorer; the leading dot means nothing on Windows.
func hideFile(path string) error {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return err
	}
	attrs, err := windows.GetFileAttributes(p)
	if err != nil {
		return fmt.Errorf("hide %s: %w", path, err)
	}
	if err := windows.SetFileAttributes(p, attrs|windows.FILE_ATTRIBUTE_HIDDEN); err != nil {
		return fmt.Errorf("hide %s: %w", path, err)
	}
	return nil
}

package engine

import "golang.org/x/sys/windows"

// hideFile sets FILE_ATTRIBUTE_HIDDEN, as BITS' own BIT*.tmp files have.
func hideFile(path string) error {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return err
	}
	attrs, err := windows.GetFileAttributes(p)
	if err != nil {
		return err
	}
	return windows.SetFileAttributes(p, attrs|windows.FILE_ATTRIBUTE_HIDDEN)
}

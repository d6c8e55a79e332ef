package uploadserver

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// diskFree is the space the server's user may still use in dir (quotas
// included).
func diskFree(dir string) (int64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	return int64(min(avail, 1<<62)), nil
}

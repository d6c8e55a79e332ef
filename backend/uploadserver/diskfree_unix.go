//go:build linux || darwin || freebsd

// Systems whose Statfs_t has Bavail and Bsize (see diskfree_other.go).

package uploadserver

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// diskFree is the space an unprivileged writer may still use in dir.
func diskFree(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	free := uint64(st.Bavail) * uint64(st.Bsize)
	return int64(min(free, 1<<62)), nil
}

package bootid

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// read: a UUID made at each boot, else the boot time (a reboot changes it;
// settimeofday moves it, which only makes a process crash look like a
// reboot: the safe side).
func read() string {
	if s, err := unix.Sysctl("kern.bootsessionuuid"); err == nil && s != "" {
		return s
	}
	tv, err := unix.SysctlTimeval("kern.boottime")
	if err != nil {
		return ""
	}
	return fmt.Sprintf("boottime-%d.%06d", tv.Sec, tv.Usec)
}

package bootid

import (
	"fmt"
	"time"

	"golang.org/x/sys/windows"
)

// read: the boot time, from the wall clock and the milliseconds since boot
// (GetTickCount64), rounded to 30 s so that two reads in one boot agree.
// Near a rounding edge, or after the wall clock moved, two reads of one
// boot can differ: a process crash then looks like a reboot, which is the
// safe side. A reboot within 30 s of the previous boot's start cannot be
// told apart, and no engine runs in that window anyway.
func read() string {
	boot := time.Now().Add(-windows.DurationSinceBoot())
	return fmt.Sprintf("boottime-%d", boot.Unix()/30)
}

//go:build !linux && !darwin && !freebsd && !windows

package uploadserver

import "errors"

// diskFree is unknown here: reservations are then bounded by Quota alone.
func diskFree(string) (int64, error) {
	return 0, errors.New("free space unknown on this system")
}

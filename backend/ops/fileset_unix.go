//go:build unix

package ops

import (
	"os"
	"syscall"
)

// openList opens the list without blocking: opening a FIFO for reading
// would wait for a writer, with the engine's handler stuck in the call.
// O_NONBLOCK changes nothing for the regular file it is meant to be.
func openList(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, openError(path, err)
	}
	return f, nil
}

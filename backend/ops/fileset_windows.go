package ops

import "os"

// openList opens the list; Windows has no FIFO that blocks an open.
func openList(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, openError(path, err)
	}
	return f, nil
}

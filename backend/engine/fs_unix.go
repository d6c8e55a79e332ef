//go:build unix

package engine

import "os"

// syncDir makes a rename in dir durable: on unix the directory entry is
// data of its own, written by fsync on the directory.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// hideFile does nothing on unix: the leading dot of .BIT*.tmp hides it.
func hideFile(string) error { return nil }

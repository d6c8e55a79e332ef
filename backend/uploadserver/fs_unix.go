//go:build unix

package uploadserver

import "os"

// syncDir makes a rename or a new entry in dir (below r) durable: on unix
// the directory entry is data of its own, written by fsync on the directory.
func syncDir(r *os.Root, dir string) error {
	d, err := r.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

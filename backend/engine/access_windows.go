//go:build windows

package engine

import (
	"io/fs"
	"os"
	"path/filepath"
)

// canRead opens the file; Windows has no access(2), and ACLs decide.
func canRead(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}

// canWrite creates and removes a probe file in the directory.
func canWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".ferry-probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(filepath.Clean(name))
}

// keepOwner: on Windows the replacing file inherits the directory's ACL, as
// BITS' own files do.
func keepOwner(*os.File, fs.FileInfo) {}

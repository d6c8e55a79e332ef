// Package pinned writes files in a directory without following symbolic
// links and without trusting a name to keep meaning the same file.
//
// A directory is opened once (os.Root) and checked against the identity
// recorded when the job was made, so a directory replaced by a link
// afterwards is refused rather than written into; every name is then
// resolved relative to that handle. A file is reopened only when the handle
// opened is the very file recorded at its creation (device and inode, or
// volume and file index): a name swapped for a link, a hard link or another
// file is reported as ErrChanged, never truncated or written through.
package pinned

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ID identifies a file or directory on its machine while it exists: the
// device and inode on Unix, the volume serial and file index on Windows.
// "" is unknown (a record from before identities were kept).
type ID string

// ErrChanged: the name no longer leads to the file or directory recorded.
var ErrChanged = errors.New("replaced since Ferry recorded it")

// Dir is an open directory whose identity was checked.
type Dir struct {
	root *os.Root
	id   ID
	path string
}

// OpenDir opens the directory at path and checks that it is want (any
// directory when want is ""). A path that leads elsewhere now, through a
// link or because the directory was replaced, is ErrChanged.
func OpenDir(path string, want ID) (*Dir, error) {
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	self, err := root.Open(".")
	if err != nil {
		root.Close()
		return nil, err
	}
	id, _, err := FileID(self)
	self.Close()
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("identify directory %s: %w", path, err)
	}
	if want != "" && id != want {
		root.Close()
		return nil, fmt.Errorf("directory %s: %w", path, ErrChanged)
	}
	return &Dir{root: root, id: id, path: path}, nil
}

// DirID returns the identity of the directory at path.
func DirID(path string) (ID, error) {
	d, err := OpenDir(path, "")
	if err != nil {
		return "", err
	}
	defer d.Close()
	return d.id, nil
}

// ID is the directory's identity.
func (d *Dir) ID() ID { return d.id }

// Path is the directory's name as it was opened.
func (d *Dir) Path() string { return d.path }

// Close releases the directory.
func (d *Dir) Close() error { return d.root.Close() }

// Create makes a new file, name must not exist (a link included: O_EXCL
// never follows one), and returns it with its identity.
func (d *Dir) Create(name string, perm fs.FileMode) (*os.File, ID, error) {
	f, err := d.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return nil, "", err
	}
	id, _, err := FileID(f)
	if err != nil {
		f.Close()
		return nil, "", fmt.Errorf("identify %s: %w", name, err)
	}
	return f, id, nil
}

// Reopen opens an existing file for reading and writing, only if it is
// want. With want "" (identity never recorded) it must be a regular file
// with one link that the name itself leads to, not a link's target. A
// missing name is fs.ErrNotExist; anything else there is ErrChanged.
func (d *Dir) Reopen(name string, want ID) (*os.File, error) {
	lst, err := d.root.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !lst.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is a %v: %w", name, lst.Mode().Type(), ErrChanged)
	}
	// O_NONBLOCK: a FIFO swapped in after the Lstat must not hang the open.
	f, err := d.root.OpenFile(name, os.O_RDWR|nonblock, 0)
	if err != nil {
		return nil, err
	}
	if err := d.check(f, lst, want); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

func (d *Dir) check(f *os.File, lst fs.FileInfo, want ID) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return ErrChanged
	}
	id, links, err := FileID(f)
	if err != nil {
		return err
	}
	// Ferry's files have one name: a second one is a hard link to them or,
	// with an inode number recycled, to someone else's file.
	if links != 1 {
		return ErrChanged
	}
	if want != "" {
		if id != want {
			return ErrChanged
		}
		return nil
	}
	// Unknown identity: what was opened must be what the name itself is (a
	// link swapped in between Lstat and open leads elsewhere).
	if lid, ok := infoID(lst); ok && lid != id {
		return ErrChanged
	}
	return nil
}

// Lstat describes name itself, a link not followed.
func (d *Dir) Lstat(name string) (fs.FileInfo, error) { return d.root.Lstat(name) }

// Rename renames within the directory; a link at to is replaced, never
// followed.
func (d *Dir) Rename(from, to string) error { return d.root.Rename(from, to) }

// Remove removes name (a link itself, never its target).
func (d *Dir) Remove(name string) error { return d.root.Remove(name) }

// Sync makes the directory's entries durable (no-op where the platform
// journals renames itself).
func (d *Dir) Sync() error {
	f, err := d.root.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	return syncDir(f)
}

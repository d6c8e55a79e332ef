//go:build unix

package home

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// privateSubdirs are Ferry's own directories inside FERRY_HOME.
var privateSubdirs = []string{QuarantineDirName}

// tighten makes dir private to its user: the directory 0700 and every file
// in it 0600 at most (an executable bit goes too: nothing here is a
// program), and so for Ferry's own subdirectories. It works on what exists,
// whoever created it and under whatever umask. It does not descend into
// directories it does not know, nor follow symbolic links: FERRY_HOME may be
// a directory the user chose, and their other files are not Ferry's to change.
func tighten(dir string) error {
	errs := []error{chmodAtMost(dir, 0o700, true)}
	errs = append(errs, tightenFiles(dir)...)
	for _, sub := range privateSubdirs {
		p := filepath.Join(dir, sub)
		st, err := os.Lstat(p)
		if err != nil || !st.IsDir() {
			continue
		}
		errs = append(errs, chmodAtMost(p, 0o700, true))
		errs = append(errs, tightenFiles(p)...)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("make %s %s private: %w", EnvVar, dir, err)
	}
	return nil
}

func tightenFiles(dir string) []error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, e := range ents {
		if e.IsDir() || e.Type()&os.ModeSymlink != 0 {
			continue
		}
		errs = append(errs, chmodAtMost(filepath.Join(dir, e.Name()), 0o600, false))
	}
	return errs
}

// chmodAtMost removes every permission bit outside max (a directory gets
// exactly max, so that its owner can always use it).
func chmodAtMost(p string, max os.FileMode, isDir bool) error {
	st, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // gone meanwhile (a -shm file, a temporary)
		}
		return err
	}
	want := st.Mode().Perm() & max
	if isDir {
		want = max
	}
	if st.Mode().Perm() == want {
		return nil
	}
	if err := os.Chmod(p, want); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

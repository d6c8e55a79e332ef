//go:build unix

package main

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

const desktopExe = "ferry-desktop"

// executableMode: any execute bit, as the shell's PATH search asks.
func executableMode(m fs.FileMode) bool { return m.Perm()&0o111 != 0 }

// startDesktop replaces this process with ferry-desktop: same pid, same
// terminal, signals and exit status, so `ferry` with no arguments behaves
// exactly as running ferry-desktop does.
func startDesktop(path string) error {
	if err := syscall.Exec(path, []string{path}, os.Environ()); err != nil {
		return fmt.Errorf("starting %s: %w", path, err)
	}
	return nil
}

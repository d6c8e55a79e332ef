//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

// startDesktop replaces this process with ferry-desktop: same pid, same
// terminal, signals and exit status, so `ferry` with no arguments behaves
// exactly as running ferry-desktop does.
func startDesktop(path string) error {
	if err := syscall.Exec(path, []string{path}, os.Environ()); err != nil {
		return fmt.Errorf("starting %s: %w", path, err)
	}
	return nil
}

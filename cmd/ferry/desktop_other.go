//go:build !unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
)

const desktopExe = "ferry-desktop.exe"

// executableMode: Windows runs any file with an executable extension.
func executableMode(fs.FileMode) bool { return true }

// startDesktop runs ferry-desktop and waits for it, passing on its exit
// status (this system has no exec that replaces the process).
func startDesktop(path string) error {
	cmd := exec.Command(path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("starting %s: %w", path, err)
	}
	os.Exit(0)
	return nil
}

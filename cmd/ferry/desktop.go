package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// desktopName is the desktop app's executable, installed beside ferry.
func desktopName() string { return desktopExe }

// findDesktop looks for ferry-desktop in the directory of this executable
// (symlinks resolved, so a link in ~/bin to an unpacked build works), then on
// PATH. The own directory comes first so that a build tree or an unpacked
// package opens its own window, not an older one installed elsewhere.
func findDesktop(self string) (string, error) {
	name := desktopName()
	if self != "" {
		if real, err := filepath.EvalSymlinks(self); err == nil {
			self = real
		}
		beside := filepath.Join(filepath.Dir(self), name)
		if isExecutable(beside) {
			return beside, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dir := "its own directory"
	if self != "" {
		dir = filepath.Dir(self)
	}
	return "", fmt.Errorf("the desktop app (%s) is neither in %s nor on PATH; commands work without it (ferry help)", name, dir)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && executableMode(fi.Mode())
}

// openDesktop starts ferry-desktop in place of this process (see
// startDesktop); it returns only on failure.
func openDesktop() error {
	self, err := os.Executable()
	if err != nil {
		self = "" // PATH alone then
	}
	path, err := findDesktop(self)
	if err != nil {
		return err
	}
	return startDesktop(path)
}

// spawnDesktop starts ferry-desktop beside this process, with no standard
// streams of ours: the native host's stdout carries frames only. The window
// is one instance per user: a running one is shown instead.
func spawnDesktop() error {
	self, err := os.Executable()
	if err != nil {
		self = ""
	}
	path, err := findDesktop(self)
	if err != nil {
		return err
	}
	cmd := exec.Command(path)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", path, err)
	}
	return cmd.Process.Release()
}

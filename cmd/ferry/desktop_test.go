package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeExecutable writes an executable file at path.
func fakeExecutable(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestFindDesktopPrefersItsOwnDirectory(t *testing.T) {
	own, onPath := t.TempDir(), t.TempDir()
	fakeExecutable(t, filepath.Join(own, desktopName()))
	fakeExecutable(t, filepath.Join(onPath, desktopName()))
	t.Setenv("PATH", onPath)

	got, err := findDesktop(filepath.Join(own, "ferry"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(own, desktopName()); got != want {
		t.Errorf("found %s, want the one beside ferry, %s", got, want)
	}
}

func TestFindDesktopFollowsSymlinksToItsDirectory(t *testing.T) {
	own, links := t.TempDir(), t.TempDir()
	fakeExecutable(t, filepath.Join(own, "ferry"))
	fakeExecutable(t, filepath.Join(own, desktopName()))
	link := filepath.Join(links, "ferry")
	if err := os.Symlink(filepath.Join(own, "ferry"), link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	t.Setenv("PATH", "")

	got, err := findDesktop(link)
	if err != nil {
		t.Fatal(err)
	}
	// The temporary directory itself may sit behind a symlink (macOS' /var).
	realOwn, _ := filepath.EvalSymlinks(own)
	if want := filepath.Join(realOwn, desktopName()); got != want {
		t.Errorf("found %s, want %s", got, want)
	}
}

func TestFindDesktopFallsBackToPath(t *testing.T) {
	own, onPath := t.TempDir(), t.TempDir()
	fakeExecutable(t, filepath.Join(onPath, desktopName()))
	t.Setenv("PATH", onPath)

	got, err := findDesktop(filepath.Join(own, "ferry"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(onPath, desktopName()); got != want {
		t.Errorf("found %s, want %s from PATH", got, want)
	}
}

func TestFindDesktopSaysWhereItLooked(t *testing.T) {
	own := t.TempDir()
	// A non-executable file of that name does not count.
	if err := os.WriteFile(filepath.Join(own, desktopName()), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())

	_, err := findDesktop(filepath.Join(own, "ferry"))
	if err == nil {
		t.Fatal("found a desktop app where there is none")
	}
	for _, want := range []string{desktopName(), own, "PATH", "ferry help"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not mention %q", err, want)
		}
	}
}

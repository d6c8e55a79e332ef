//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// With no arguments, ferry becomes the ferry-desktop beside it: the same
// process (pid), no arguments passed on, and its exit status.
func TestNoArgumentsExecsTheDesktopApp(t *testing.T) {
	dir := t.TempDir()
	bin := copyBinary(t, dir)
	record := filepath.Join(dir, "record")
	script := "#!/bin/sh\necho \"$$ $#\" > \"$RECORD\"\nexit 7\n"
	if err := os.WriteFile(filepath.Join(dir, "ferry-desktop"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "RECORD="+record, "PATH="+t.TempDir())
	err := cmd.Run()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 7 {
		t.Fatalf("ferry exited with %v, want ferry-desktop's status 7", err)
	}
	got, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("ferry-desktop did not run: %v", err)
	}
	fields := strings.Fields(string(got))
	if len(fields) != 2 || fields[0] != strconv.Itoa(cmd.Process.Pid) || fields[1] != "0" {
		t.Errorf("ferry-desktop ran as %q, want pid %d (exec, not a child) and no arguments", got, cmd.Process.Pid)
	}
}

func TestNoArgumentsWithoutTheDesktopApp(t *testing.T) {
	dir := t.TempDir()
	bin := copyBinary(t, dir)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("ferry exited with %v, want 1", err)
	}
	if !strings.Contains(string(out), "ferry-desktop") || !strings.Contains(string(out), "ferry help") {
		t.Errorf("the message does not say what is missing and what works: %s", out)
	}
}

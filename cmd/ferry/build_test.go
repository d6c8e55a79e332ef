//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	builtOnce sync.Once
	builtDir  string
	builtBin  string
	builtErr  error
	builtOut  []byte
)

// TestMain removes the binary that the tests build once and share.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// ferryBinary builds this command once per test run, as `make build` does
// (no race detector: the tests measure and run the real thing).
func ferryBinary(t *testing.T) string {
	t.Helper()
	builtOnce.Do(func() {
		builtDir, builtErr = os.MkdirTemp("", "ferry-cmd-test-")
		if builtErr != nil {
			return
		}
		builtBin = filepath.Join(builtDir, "ferry")
		builtOut, builtErr = exec.Command("go", "build", "-trimpath", "-o", builtBin, ".").CombinedOutput()
	})
	if builtErr != nil {
		t.Fatalf("go build: %v\n%s", builtErr, builtOut)
	}
	return builtBin
}

// copyBinary puts a copy of the built ferry in dir, for tests that need
// it beside other files.
func copyBinary(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(ferryBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "ferry")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

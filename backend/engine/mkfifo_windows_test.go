//go:build windows

package engine

import "errors"

// mkfifo: Windows has no FIFOs (TestLocalMustBeARegularFile is left out of
// make test-windows for that reason).
func mkfifo(string) error { return errors.New("Windows has no FIFOs") }

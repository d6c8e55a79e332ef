//go:build unix

package cli

import "syscall"

// detached puts an autostarted engine in its own session: no controlling
// terminal, so closing the terminal or Ctrl-C in it does not reach it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

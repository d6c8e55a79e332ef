package testenv

import "syscall"

// procAttr puts the daemon in its own process group (cleanup signals exactly
// it) and kills it if the test binary dies without running its cleanups.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

//go:build darwin || freebsd

package api

import (
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

var errConnRefused = syscall.ECONNREFUSED

// SocketAddr is the control socket's path (no abstract sockets here).
func SocketAddr(path string) string { return path }

// peerUID is the uid of the process on the other end (LOCAL_PEERCRED).
func peerUID(c net.Conn) (int, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return -1, fmt.Errorf("not a unix socket connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return -1, err
	}
	var cred *unix.Xucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	}); err != nil {
		return -1, err
	}
	if cerr != nil {
		return -1, fmt.Errorf("LOCAL_PEERCRED: %w", cerr)
	}
	return int(cred.Uid), nil
}

//go:build darwin || freebsd

package localsock

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// maxPath is the shortest sun_path of the BSDs and macOS (104 bytes) less
// its terminating NUL.
const maxPath = 103

// Addr is the socket's path: these systems have no abstract sockets, so a
// path too long for a socket address fails in Listen, with the reason.
func Addr(path, kind string) string { return path }

// PeerUID is the uid of the process on the other end (LOCAL_PEERCRED).
func PeerUID(c net.Conn) (int, error) {
	var cred *unix.Xucred
	err := rawControl(c, func(fd uintptr) (err error) {
		cred, err = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		return err
	})
	if err != nil {
		return -1, fmt.Errorf("LOCAL_PEERCRED: %w", err)
	}
	return int(cred.Uid), nil
}

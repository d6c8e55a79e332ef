package localsock

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// maxPath is sun_path's size less its terminating NUL.
const maxPath = 107

// Addr is where the endpoint kind of the socket path listens: the path, or,
// when it is too long for a unix socket address, an abstract socket named
// after it (abstract sockets have no file mode; the peer check guards them).
func Addr(path, kind string) string {
	if len(path) <= maxPath {
		return path
	}
	return "@" + hashed(kind, path)
}

// PeerUID is the uid of the process on the other end (SO_PEERCRED).
func PeerUID(c net.Conn) (int, error) {
	var cred *unix.Ucred
	err := rawControl(c, func(fd uintptr) (err error) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		return err
	})
	if err != nil {
		return -1, fmt.Errorf("SO_PEERCRED: %w", err)
	}
	return int(cred.Uid), nil
}

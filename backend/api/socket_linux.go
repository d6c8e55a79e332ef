package api

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

var errConnRefused = syscall.ECONNREFUSED

// maxSocketPath is sun_path's size less its terminating NUL.
const maxSocketPath = 107

// SocketAddr is where the control socket of a FERRY_HOME listens: its path,
// or, when the path is too long for a unix socket address, an abstract
// socket named after it (Linux only; the peer check still guards it).
func SocketAddr(path string) string {
	if len(path) <= maxSocketPath {
		return path
	}
	sum := sha256.Sum256([]byte(path))
	return "@ferry-" + hex.EncodeToString(sum[:16])
}

// peerUID is the uid of the process on the other end (SO_PEERCRED).
func peerUID(c net.Conn) (int, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return -1, fmt.Errorf("not a unix socket connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return -1, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return -1, err
	}
	if cerr != nil {
		return -1, fmt.Errorf("SO_PEERCRED: %w", cerr)
	}
	return int(cred.Uid), nil
}

package desktop

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// maxSocketPath is sun_path's size less its terminating NUL.
const maxSocketPath = 107

// socketAddr is the socket's path, or, when FERRY_HOME is too deep for a
// unix socket address, an abstract socket named after the path (the peer
// check guards it, as abstract sockets have no file permissions).
func socketAddr(path string) (string, error) {
	if len(path) <= maxSocketPath {
		return path, nil
	}
	sum := sha256.Sum256([]byte(path))
	return "@ferry-desktop-" + hex.EncodeToString(sum[:16]), nil
}

// samePeer reports whether the process on the other end runs as our user
// (SO_PEERCRED), so another user cannot raise our window.
func samePeer(c net.Conn) bool {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return false
	}
	return int(cred.Uid) == os.Getuid()
}

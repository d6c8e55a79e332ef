//go:build unix && !linux

package desktop

import (
	"fmt"
	"net"
)

// maxSocketPath is the shortest sun_path of the BSDs and macOS (104 bytes)
// less its terminating NUL.
const maxSocketPath = 103

// socketAddr is the socket's path; these systems have no abstract sockets,
// so a FERRY_HOME too deep for a socket address is an error.
func socketAddr(path string) (string, error) {
	if len(path) > maxSocketPath {
		return "", fmt.Errorf("%s is too long for a unix socket (%d bytes at most)", path, maxSocketPath)
	}
	return path, nil
}

// samePeer trusts the socket's 0600 mode inside the private FERRY_HOME.
func samePeer(net.Conn) bool { return true }

//go:build unix && !linux && !darwin && !freebsd

package localsock

import (
	"errors"
	"net"
)

// maxPath is the shortest sun_path of the unix systems (104 bytes) less its
// terminating NUL.
const maxPath = 103

// Addr is the socket's path.
func Addr(path, kind string) string { return path }

// PeerUID is not known on this system, so every caller is refused.
func PeerUID(net.Conn) (int, error) {
	return -1, errors.New("peer credentials are not supported on this system")
}

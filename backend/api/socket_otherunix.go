//go:build unix && !linux && !darwin && !freebsd

package api

import (
	"errors"
	"net"
	"syscall"
)

var errConnRefused = syscall.ECONNREFUSED

// SocketAddr is the control socket's path.
func SocketAddr(path string) string { return path }

// peerUID is not known on this system, so every caller is refused.
func peerUID(net.Conn) (int, error) {
	return -1, errors.New("peer credentials are not supported on this system")
}

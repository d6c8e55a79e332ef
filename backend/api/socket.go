package api

import (
	"context"
	"net"

	"ferry/backend/internal/localsock"
)

// The control socket is a localsock endpoint: a unix socket private to its
// user, or a named pipe on Windows.

// SocketAddr is where the control socket of a FERRY_HOME whose socket path
// is path listens: the path itself, an abstract socket on Linux when the
// path is too long, or \\.\pipe\ferry-<hash> on Windows.
func SocketAddr(path string) string { return localsock.Addr(path, "ferry") }

// Listen opens the control socket at path. The caller holds FERRY_HOME's
// lock, so a socket file left there is stale and is replaced.
func Listen(path string) (net.Listener, error) { return localsock.Listen(SocketAddr(path)) }

func dial(ctx context.Context, path string) (net.Conn, error) {
	return localsock.Dial(ctx, SocketAddr(path))
}

// isNoEngine reports a dial error that means nobody listens.
func isNoEngine(err error) bool { return localsock.NoListener(err) }

// isDenied reports a dial error that means the socket is someone else's.
func isDenied(err error) bool { return localsock.Denied(err) }

// peerUID is the uid of the process on the other end (on Windows, our own
// when the caller's SID is ours, else an error).
func peerUID(c net.Conn) (int, error) { return localsock.PeerUID(c) }

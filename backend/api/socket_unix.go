//go:build unix

package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
)

// Listen opens the control socket at path (see SocketAddr), replacing a
// stale socket file: the caller holds FERRY_HOME's lock, so no live engine
// can own it. The socket is private to its user (0600).
func Listen(path string) (net.Listener, error) {
	addr := SocketAddr(path)
	if !strings.HasPrefix(addr, "@") {
		if st, err := os.Lstat(addr); err == nil {
			if st.Mode().Type() != fs.ModeSocket {
				return nil, fmt.Errorf("%s exists and is not a socket", addr)
			}
			if err := os.Remove(addr); err != nil {
				return nil, fmt.Errorf("remove stale socket: %w", err)
			}
		}
	}
	ln, err := net.Listen("unix", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if !strings.HasPrefix(addr, "@") {
		if err := os.Chmod(addr, 0o600); err != nil {
			ln.Close()
			return nil, fmt.Errorf("protect %s: %w", addr, err)
		}
	}
	return ln, nil
}

func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", SocketAddr(path))
}

// isNoEngine reports a dial error that means nobody listens.
func isNoEngine(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, errConnRefused)
}

// isDenied reports a dial error that means the socket is someone else's.
func isDenied(err error) bool { return errors.Is(err, fs.ErrPermission) }

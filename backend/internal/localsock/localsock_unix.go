//go:build unix

package localsock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"
)

// Listen opens the socket at addr (see Addr), private to its user (0600),
// replacing a stale socket file: the caller holds the lock that says who
// may listen there, so no live process can own it. A file there that is
// not a socket is left alone and reported.
func Listen(addr string) (net.Listener, error) {
	abstract := strings.HasPrefix(addr, "@")
	if !abstract {
		if len(addr) > maxPath {
			return nil, fmt.Errorf("%s is too long for a unix socket (%d bytes at most)", addr, maxPath)
		}
		if st, err := os.Lstat(addr); err == nil {
			if st.Mode().Type() != fs.ModeSocket {
				return nil, fmt.Errorf("%s exists and is not a socket", addr)
			}
			if err := os.Remove(addr); err != nil {
				return nil, fmt.Errorf("remove the stale socket: %w", err)
			}
		}
	}
	ln, err := net.Listen("unix", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	// Not the umask: it is per process, and other goroutines may be
	// creating files. The directory is private and the peer is checked
	// too, so the moment before the chmod exposes nothing.
	if !abstract {
		if err := os.Chmod(addr, 0o600); err != nil {
			ln.Close()
			return nil, fmt.Errorf("protect %s: %w", addr, err)
		}
	}
	return ln, nil
}

// Dial connects to the socket at addr.
func Dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", addr)
}

// NoListener reports a Dial error that means nobody listens there.
func NoListener(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED)
}

// Denied reports a Dial error that means the endpoint is someone else's.
func Denied(err error) bool { return errors.Is(err, fs.ErrPermission) }

// CheckPeer reports an error unless the process on the other end of c runs
// as this process' user.
func CheckPeer(c net.Conn) error {
	uid, err := PeerUID(c)
	if err != nil {
		return err
	}
	if me := os.Getuid(); uid != me {
		return fmt.Errorf("the caller runs as uid %d, not %d", uid, me)
	}
	return nil
}

// rawControl runs f with the socket's descriptor.
func rawControl(c net.Conn, f func(fd uintptr) error) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return errors.New("not a unix socket connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = f(fd) }); err != nil {
		return err
	}
	return ferr
}

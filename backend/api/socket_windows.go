//go:build windows

package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// On Windows the control API listens on a named pipe instead of a unix
// socket. Its security descriptor grants access to the current user's SID
// alone (protected, so nothing is inherited): the DACL is what keeps other
// users out, as the socket's 0600 mode does on unix, and peerUID then checks
// the caller's token like SO_PEERCRED does.

// maxSocketPath is the longest pipe name Windows accepts (256 characters).
const maxSocketPath = 256

var errConnRefused = windows.ERROR_PIPE_NOT_CONNECTED

// SocketAddr is the named pipe of the FERRY_HOME whose socket path is path:
// \\.\pipe\ferry-<hash>. Windows paths are case-insensitive, so C:\Ferry and
// c:\ferry name the same pipe.
func SocketAddr(path string) string {
	key := strings.ToLower(filepath.Clean(path))
	sum := sha256.Sum256([]byte(key))
	return `\\.\pipe\ferry-` + hex.EncodeToString(sum[:16])
}

// Listen creates the named pipe, open to the current user only. The caller
// holds FERRY_HOME's lock; a pipe that exists anyway belongs to a process
// that does not (or to another user), and Listen fails rather than share it.
func Listen(path string) (net.Listener, error) {
	sid, err := currentSID()
	if err != nil {
		return nil, err
	}
	addr := SocketAddr(path)
	ln, err := winio.ListenPipe(addr, &winio.PipeConfig{
		SecurityDescriptor: "D:P(A;;GA;;;" + sid.String() + ")",
		InputBufferSize:    64 << 10,
		OutputBufferSize:   64 << 10,
	})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if err := plugFirstInstance(addr); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// plugFirstInstance connects to the pipe once and hangs up. go-winio keeps
// its first pipe instance only to own the name, and relies on Windows
// keeping that instance disconnected; Wine (and Windows 7, go-winio issue
// #313) lets a client connect to it anyway, and that client then waits
// forever. Taking that instance here leaves only the served ones. Where
// the instance is disconnected as intended, the open fails with
// ERROR_PIPE_BUSY and nothing changes.
func plugFirstInstance(addr string) error {
	name, err := windows.UTF16PtrFromString(addr)
	if err != nil {
		return err
	}
	h, err := windows.CreateFile(name, 0, 0, nil, windows.OPEN_EXISTING, windows.SECURITY_SQOS_PRESENT|windows.SECURITY_ANONYMOUS, 0)
	if errors.Is(err, windows.ERROR_PIPE_BUSY) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open the pipe's first instance: %w", err)
	}
	return windows.CloseHandle(h)
}

// dial connects to the pipe; its errors are *net.OpError like a unix
// dialer's, which is how the client tells "no engine" from a broken call.
func dial(ctx context.Context, path string) (net.Conn, error) {
	addr := SocketAddr(path)
	c, err := winio.DialPipeContext(ctx, addr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "pipe", Err: err}
	}
	return c, nil
}

// isNoEngine reports a dial error that means nobody listens.
func isNoEngine(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, errConnRefused)
}

// isDenied reports a dial error that means the pipe is someone else's.
func isDenied(err error) bool { return errors.Is(err, fs.ErrPermission) }

// peerUID checks that the process on the other end runs as the current
// user, comparing the SIDs of the two tokens. Windows has no uids: a match
// returns os.Getuid() (-1 there), which is what the server compares with.
func peerUID(c net.Conn) (int, error) {
	fc, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return -1, fmt.Errorf("not a named pipe connection")
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(windows.Handle(fc.Fd()), &pid); err != nil {
		return -1, fmt.Errorf("GetNamedPipeClientProcessId: %w", err)
	}
	peer, err := processSID(pid)
	if err != nil {
		return -1, fmt.Errorf("the caller's (pid %d) user: %w", pid, err)
	}
	me, err := currentSID()
	if err != nil {
		return -1, err
	}
	if !windows.EqualSid(peer, me) {
		return -1, fmt.Errorf("the caller (pid %d) runs as %s, not %s", pid, peer, me)
	}
	return os.Getuid(), nil
}

func currentSID() (*windows.SID, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("the current user's SID: %w", err)
	}
	return u.User.Sid, nil
}

func processSID(pid uint32) (*windows.SID, error) {
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return nil, fmt.Errorf("OpenProcess: %w", err)
	}
	defer windows.CloseHandle(p)
	var tok windows.Token
	if err := windows.OpenProcessToken(p, windows.TOKEN_QUERY, &tok); err != nil {
		return nil, fmt.Errorf("OpenProcessToken: %w", err)
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("GetTokenUser: %w", err)
	}
	// The SID lives in the token's buffer: copy it before the token goes.
	return u.User.Sid.Copy()
}

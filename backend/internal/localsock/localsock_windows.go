//go:build windows

package localsock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"strings"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// On Windows the endpoint is a named pipe. Its security descriptor grants
// access to the current user's SID alone (protected, so nothing is
// inherited): the DACL keeps other users out, as a socket's 0600 mode does
// on unix, and CheckPeer then compares the caller's token SID with ours, as
// SO_PEERCRED's uid is compared there.

// Addr is the named pipe of the endpoint kind whose socket path is path:
// \\.\pipe\<kind>-<hash>. Windows paths are case-insensitive, so C:\Ferry
// and c:\ferry name the same pipe.
func Addr(path, kind string) string {
	return `\\.\pipe\` + hashed(kind, strings.ToLower(filepath.Clean(path)))
}

// Listen creates the named pipe, open to the current user only. A pipe of
// that name that exists already belongs to another process (go-winio
// creates the first instance with FILE_FLAG_FIRST_PIPE_INSTANCE), and
// Listen fails rather than share it.
func Listen(addr string) (net.Listener, error) {
	sid, err := currentSID()
	if err != nil {
		return nil, err
	}
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

// Dial connects to the pipe; its errors are *net.OpError like a unix
// dialer's.
func Dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := winio.DialPipeContext(ctx, addr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "pipe", Err: err}
	}
	return c, nil
}

// NoListener reports a Dial error that means nobody listens there.
func NoListener(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, windows.ERROR_PIPE_NOT_CONNECTED)
}

// Denied reports a Dial error that means the pipe is someone else's.
func Denied(err error) bool { return errors.Is(err, fs.ErrPermission) }

// PeerUID checks that the process on the other end runs as the current
// user. Windows has no uids: a match returns os.Getuid() (-1 there), which
// is what a unix caller of PeerUID compares with.
func PeerUID(c net.Conn) (int, error) {
	if err := CheckPeer(c); err != nil {
		return -1, err
	}
	return -1, nil
}

// CheckPeer reports an error unless the client on the other end of c runs
// as this process' user (their tokens' SIDs are equal).
func CheckPeer(c net.Conn) error {
	h, err := pipeHandle(c)
	if err != nil {
		return err
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(h, &pid); err != nil {
		return fmt.Errorf("GetNamedPipeClientProcessId: %w", err)
	}
	peer, err := processSID(pid)
	if err != nil {
		return fmt.Errorf("the caller's (pid %d) user: %w", pid, err)
	}
	me, err := currentSID()
	if err != nil {
		return err
	}
	if !windows.EqualSid(peer, me) {
		return fmt.Errorf("the caller (pid %d) runs as %s, not %s", pid, peer, me)
	}
	return nil
}

// ServerPID is the process id of the server on the other end of a pipe
// that Dial connected.
func ServerPID(c net.Conn) (uint32, error) {
	h, err := pipeHandle(c)
	if err != nil {
		return 0, err
	}
	var pid uint32
	if err := windows.GetNamedPipeServerProcessId(h, &pid); err != nil {
		return 0, fmt.Errorf("GetNamedPipeServerProcessId: %w", err)
	}
	return pid, nil
}

func pipeHandle(c net.Conn) (windows.Handle, error) {
	fc, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return 0, errors.New("not a named pipe connection")
	}
	return windows.Handle(fc.Fd()), nil
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

//go:build unix

package desktop

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

const (
	instanceLock   = "desktop.lock"
	instanceSocket = "desktop.sock"
	// connDeadline bounds one exchange on the socket either way.
	connDeadline = 2 * time.Second
)

// showWait is how long a second start waits for the first to answer: the
// first may hold the lock but not listen yet (it is starting up). A
// variable so that tests need not wait as long.
var showWait = 5 * time.Second

// ClaimInstance makes this process the desktop instance of home, or asks
// the one already running to show its window.
//
//   - This process is the first: it listens on home/desktop.sock (0600),
//     calls onShow for every later start, and gets already=false and a
//     release func to call when the window closes for good.
//   - Another desktop instance runs: it has been told to show its window;
//     already=true, and the caller exits 0.
//
// An flock on home/desktop.lock decides who is first, so two starts at the
// same moment cannot both listen, and a crashed instance (its lock gone
// with it, its socket file left behind) is simply replaced. Wails' own
// single-instance lock is not used: it needs a session bus and silently
// does nothing without one.
func ClaimInstance(home string, onShow func()) (release func(), already bool, err error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, false, fmt.Errorf("single instance: %w", err)
	}
	sockPath := filepath.Join(home, instanceSocket)
	addr, err := socketAddr(sockPath)
	if err != nil {
		return nil, false, fmt.Errorf("single instance: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(home, instanceLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("single instance: %w", err)
	}
	held, err := tryFlock(lock)
	if err != nil {
		lock.Close()
		return nil, false, fmt.Errorf("single instance: locking %s: %w", lock.Name(), err)
	}
	if held {
		lock.Close()
		if err := askShow(addr, time.Now().Add(showWait)); err != nil {
			return nil, false, fmt.Errorf("single instance: another Ferry window holds %s but did not answer: %w",
				filepath.Join(home, instanceLock), err)
		}
		return nil, true, nil
	}

	ln, err := listen(addr)
	if err != nil {
		unix.Flock(int(lock.Fd()), unix.LOCK_UN)
		lock.Close()
		return nil, false, fmt.Errorf("single instance: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		serveShow(ln, onShow)
	}()
	return sync.OnceFunc(func() {
		ln.Close() // also removes the socket file
		<-done
		// Unlock last: the next instance must not find our socket live.
		unix.Flock(int(lock.Fd()), unix.LOCK_UN)
		lock.Close()
	}), false, nil
}

// tryFlock takes an exclusive lock without waiting; held reports that
// another open file (another process, or another claim here) has it.
func tryFlock(f *os.File) (held bool, err error) {
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if errors.Is(err, unix.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}

// listen opens the socket, replacing a file left by a crashed instance
// (the lock proves nobody serves it).
func listen(addr string) (net.Listener, error) {
	if !strings.HasPrefix(addr, "@") {
		if st, err := os.Lstat(addr); err == nil {
			if st.Mode().Type() != fs.ModeSocket {
				return nil, fmt.Errorf("%s exists and is not a socket", addr)
			}
			if err := os.Remove(addr); err != nil {
				return nil, fmt.Errorf("removing the stale socket: %w", err)
			}
		}
	}
	ln, err := net.Listen("unix", addr)
	if err != nil {
		return nil, err
	}
	// Not the umask: it is per process, and other goroutines may be
	// creating files. FERRY_HOME is 0700 and the peer is checked too, so
	// the moment before the chmod exposes nothing.
	if !strings.HasPrefix(addr, "@") {
		if err := os.Chmod(addr, 0o600); err != nil {
			ln.Close()
			return nil, err
		}
	}
	return ln, nil
}

// askShow tells the running instance to show its window, retrying until
// deadline while it is not listening yet.
func askShow(addr string, deadline time.Time) error {
	for {
		err := showOnce(addr)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func showOnce(addr string) error {
	c, err := net.DialTimeout("unix", addr, connDeadline)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(connDeadline))
	if _, err := c.Write([]byte("show\n")); err != nil {
		return err
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the reply: %w", err)
	}
	if reply != "ok\n" {
		return fmt.Errorf("unexpected reply %q", reply)
	}
	return nil
}

// serveShow answers "show" requests one at a time until ln is closed.
func serveShow(ln net.Listener, onShow func()) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient failure (out of descriptors): do not spin.
			time.Sleep(100 * time.Millisecond)
			continue
		}
		handleShow(c, onShow)
	}
}

func handleShow(c net.Conn, onShow func()) {
	defer c.Close()
	if !samePeer(c) {
		return
	}
	c.SetDeadline(time.Now().Add(connDeadline))
	// A line at most: a peer cannot feed an endless request.
	line, err := bufio.NewReader(io.LimitReader(c, 64)).ReadString('\n')
	if err != nil {
		return
	}
	if line != "show\n" {
		c.Write([]byte("unknown request\n"))
		return
	}
	if onShow != nil {
		onShow()
	}
	c.Write([]byte("ok\n"))
}

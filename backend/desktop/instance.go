package desktop

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"ferry/backend/home"
	"ferry/backend/internal/localsock"
)

const (
	instanceLock   = "desktop.lock"
	instanceSocket = "desktop.sock" // a named pipe named after it on Windows
	// connDeadline bounds one exchange on the socket either way.
	connDeadline = 2 * time.Second
)

// showWait is how long a second start waits for the first to answer: the
// first may hold the lock but not listen yet (it is starting up). A
// variable so that tests need not wait as long.
var showWait = 5 * time.Second

// instanceAddr is the handshake's endpoint for dir: dir/desktop.sock (an
// abstract socket on Linux when that path is too long), or the pipe
// \\.\pipe\ferry-desktop-<hash of it> on Windows.
func instanceAddr(dir string) string {
	return localsock.Addr(filepath.Join(dir, instanceSocket), "ferry-desktop")
}

// ClaimInstance makes this process the desktop instance of dir (a
// FERRY_HOME), or asks the one already running to show its window.
//
//   - This process is the first: it listens on the handshake's endpoint
//     (a 0600 socket in dir, or a named pipe only this user may open),
//     calls onShow for every later start, and gets already=false and a
//     release func to call when the window closes for good.
//   - Another desktop instance runs: it has been told to show its window;
//     already=true, and the caller exits 0.
//
// A lock on dir/desktop.lock decides who is first, so two starts at the
// same moment cannot both listen, and a crashed instance (its lock gone
// with it, its socket file perhaps left behind) is simply replaced. Wails'
// own single-instance lock is not used: it needs a session bus on Linux
// and silently does nothing without one.
func ClaimInstance(dir string, onShow func()) (release func(), already bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("single instance: %w", err)
	}
	addr := instanceAddr(dir)
	lock, held, err := home.TryLock(filepath.Join(dir, instanceLock))
	if err != nil {
		return nil, false, fmt.Errorf("single instance: %w", err)
	}
	if held {
		if err := askShow(addr, time.Now().Add(showWait)); err != nil {
			return nil, false, fmt.Errorf("single instance: another Ferry window holds %s but did not answer: %w",
				filepath.Join(dir, instanceLock), err)
		}
		return nil, true, nil
	}

	ln, err := localsock.Listen(addr)
	if err != nil {
		lock.Release()
		return nil, false, fmt.Errorf("single instance: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		serveShow(ln, onShow)
	}()
	return sync.OnceFunc(func() {
		ln.Close() // also removes a socket file
		<-done
		// Unlock last: the next instance must not find our endpoint live.
		lock.Release()
	}), false, nil
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
	ctx, cancel := context.WithTimeout(context.Background(), connDeadline)
	defer cancel()
	c, err := localsock.Dial(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	// The window to raise is the other process': let it take the
	// foreground, which this start (the user's latest action) owns.
	lendForeground(c)
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
	// Another user cannot raise our window (nor learn it runs).
	if localsock.CheckPeer(c) != nil {
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

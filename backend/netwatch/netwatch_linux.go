package netwatch

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// netlinkWatcher reads the kernel's rtnetlink notifications for links,
// addresses and routes (IPv4 and IPv6) of the network namespace it was
// opened in. The messages are not parsed: any one is a change.
type netlinkWatcher struct {
	f     *os.File
	out   chan struct{}
	close sync.Once
}

// New watches the network namespace of the calling thread.
func New() (Watcher, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK |
		unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR | unix.RTMGRP_IPV4_ROUTE | unix.RTMGRP_IPV6_ROUTE}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	// A non-blocking descriptor goes through Go's poller, so Close ends
	// the pending Read.
	w := &netlinkWatcher{f: os.NewFile(uintptr(fd), "netlink"), out: make(chan struct{}, 1)}
	events := make(chan struct{}, 1)
	go w.read(events)
	go coalesce(events, w.out)
	return w, nil
}

func (w *netlinkWatcher) read(events chan<- struct{}) {
	defer close(events)
	buf := make([]byte, 64<<10)
	for {
		_, err := w.f.Read(buf)
		if err != nil && !errors.Is(err, unix.ENOBUFS) { // ENOBUFS: messages were dropped, which is a change too
			return
		}
		select {
		case events <- struct{}{}:
		default:
		}
	}
}

func (w *netlinkWatcher) Changes() <-chan struct{} { return w.out }

func (w *netlinkWatcher) Close() error {
	var err error
	w.close.Do(func() { err = w.f.Close() })
	return err
}

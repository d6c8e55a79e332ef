package transfer

import (
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sockProbe reads the receiver's round-trip estimate from TCP_INFO:
// tcpi_rcv_rtt, which Linux measures from the timestamps the sender echoes
// (RFC 7323), the measurement RFC 9840 builds on. It includes the queueing
// delay of the data's direction.
type sockProbe struct{ rc syscall.RawConn }

func newProbe(c net.Conn) probe {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return sockProbe{rc}
}

func (p sockProbe) rcvRTT() (time.Duration, bool) {
	var info *unix.TCPInfo
	var gerr error
	if err := p.rc.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || gerr != nil || info.Rcv_rtt == 0 {
		return 0, false
	}
	return time.Duration(info.Rcv_rtt) * time.Microsecond, true
}

func (p sockProbe) clamp(bytes int) error {
	var serr error
	if err := p.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_WINDOW_CLAMP, bytes)
	}); err != nil {
		return err
	}
	return serr
}

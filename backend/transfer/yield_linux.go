package transfer

import (
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sockProbe reads the socket's receive window, segment size and receiver
// round-trip estimate from TCP_INFO (tcpi_rcv_wnd, Linux 6.2 and later;
// tcpi_advmss; tcpi_rcv_rtt) and clamps with TCP_WINDOW_CLAMP.
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

func (p sockProbe) window() (wnd, mss int, rcvRTT time.Duration, ok bool) {
	var info *unix.TCPInfo
	var gerr error
	if err := p.rc.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || gerr != nil || info.Rcv_wnd == 0 {
		return 0, 0, 0, false
	}
	return int(info.Rcv_wnd), int(max(info.Advmss, info.Rcv_mss)), time.Duration(info.Rcv_rtt) * time.Microsecond, true
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

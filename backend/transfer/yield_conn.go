package transfer

import (
	"context"
	"net"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// The connection level of yielding. Every TCP connection the HTTP driver
// dials is a yieldConn; connections are pooled across jobs, so a request
// binds its job's Yielder (or none) to the connection it gets
// (httptrace.GotConn), and the connection follows that job until another
// request takes it.

// probe is the platform's view of one socket (yield_linux.go; elsewhere
// nothing is clamped yet).
type probe interface {
	// window is the receive window the socket last advertised and its
	// maximum segment size, in bytes, and the kernel's receiver round-trip
	// estimate (0: none).
	window() (wnd, mss int, rcvRTT time.Duration, ok bool)
	// clamp sets the most the socket advertises (TCP_WINDOW_CLAMP).
	clamp(bytes int) error
}

// histLen is how many reads a connection remembers to find when the
// window's worth of bytes now in flight began: one read per 4 KiB at 1
// Gbit/s is 30,000 a second, far more than needed; a read history that
// does not reach back a full window yields no sample until it does.
const histLen = 4096

// mark is the count of bytes a connection had read at a time, and the
// window the socket advertised then (as last probed; 0: not yet known).
type mark struct {
	at    time.Time
	total int64
	wnd   int
}

// probeEvery spaces the delay samples of one connection.
const probeEvery = 5 * time.Millisecond

// unclamped is what a released socket's clamp is set to: more than any
// receive buffer, so the buffer alone decides again.
const unclamped = 1 << 30

type yieldConn struct {
	net.Conn
	y      atomic.Pointer[Yielder]
	probe  probe
	closed chan struct{}
	once   sync.Once

	// Read's own state (Reads of one connection are sequential).
	delivered int
	lastProbe time.Time
	clamped   int // the clamp set on the socket (0: none)
	total     int64
	hist      [histLen]mark // ring of reads, newest at (next-1)
	next      int
	nHist     int
	lastWnd   int
	// validFrom: reads before it do not measure (see roundTrip).
	validFrom time.Time
}

// yieldDial wraps a dialer so that its TCP connections can yield.
func yieldDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &yieldConn{Conn: c, probe: newProbe(c), closed: make(chan struct{})}, nil
	}
}

// withYield makes the requests of ctx bind y (nil: not yielding) to the
// connection each one gets.
func withYield(ctx context.Context, y *Yielder) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { bindYield(info.Conn, y) },
	})
}

// bindYield finds the yieldConn under c (a TLS connection wraps it) and
// hands it to y.
func bindYield(c net.Conn, y *Yielder) {
	for {
		switch v := c.(type) {
		case *yieldConn:
			v.bind(y)
			return
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return
		}
	}
}

func (c *yieldConn) bind(y *Yielder) {
	if old := c.y.Swap(y); old != y {
		if old != nil {
			old.detach()
		}
		if y != nil {
			y.attach()
		}
	}
}

func (c *yieldConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.bind(nil)
	})
	return c.Conn.Close()
}

func (c *yieldConn) Read(p []byte) (int, error) {
	y := c.y.Load()
	if !y.Enabled() {
		if c.clamped != 0 && c.probe != nil {
			_ = c.probe.clamp(unclamped)
			c.clamped = 0
		}
		c.nHist = 0 // a history across a pause would read as delay
		return c.Conn.Read(p)
	}
	// Never held back here: the clamp alone limits the sender, so a read
	// blocks only in the kernel, where a close or the driver's stall
	// watchdog ends it.
	n, err := c.Conn.Read(p)
	if n <= 0 || c.probe == nil {
		return n, err
	}
	now := y.clk.Now()
	c.total += int64(n)
	c.delivered += n
	c.hist[c.next] = mark{now, c.total, c.lastWnd}
	c.next = (c.next + 1) % histLen
	c.nHist = min(c.nHist+1, histLen)
	if now.Sub(c.lastProbe) < probeEvery {
		return n, err
	}
	c.lastProbe = now
	wnd, mss, rcvRTT, ok := c.probe.window()
	if !ok {
		return n, err
	}
	if wnd < c.lastWnd {
		c.shrunk(now, y)
	}
	c.lastWnd = wnd
	if rtt, ok := c.roundTrip(now, wnd); ok {
		// Never shorter than the kernel's estimate (see Yielder, Delay).
		y.Observe(max(rtt, rcvRTT), c.delivered)
		c.delivered = 0
	}
	if w := y.connWindow(mss); w < c.clamped {
		c.shrunk(now, y)
	}
	c.setClamp(y.connWindow(mss))
	return n, err
}

// shrunk notes that the window closed: the sender may still fill the right
// edge offered before (the kernel never takes it back), so for about a
// round trip more bytes are in flight than the window says, and a read of
// a window's worth of them would measure a round trip too short (it would
// even set a false base delay).
func (c *yieldConn) shrunk(now time.Time, y *Yielder) {
	c.validFrom = now.Add(y.roundTrip())
}

// roundTrip is the time the connection took to read the window's worth of
// bytes that was in flight at an earlier read: with W bytes in flight at
// t0, the last of them arrives a round trip later (see Yielder). W is the
// window advertised at t0, not the current one (wnd only stands in for a
// read before the first probe): while the window grows, the bytes read
// lately were sent under a smaller one, and measuring the current window
// back from now reached into those and read round trips of twice the
// path's, which ended a ramp far below the link's rate. It is false while
// the history does not reach back that far.
func (c *yieldConn) roundTrip(now time.Time, wnd int) (time.Duration, bool) {
	if wnd <= 0 || c.nHist < 2 {
		return 0, false
	}
	oldest := (c.next - c.nHist + histLen) % histLen
	at := func(i int) mark { return c.hist[(oldest+i)%histLen] }
	// 7/8 of the window: a window-limited sender sends a window per round
	// trip in one burst, and a look-back that overshoots the burst by a
	// byte would measure two round trips; short of it, the sample is at
	// most an eighth short, base and current alike.
	done := func(i int) bool {
		w := at(i).wnd
		if w <= 0 {
			w = wnd
		}
		return c.total-at(i).total >= int64(w-w/8)
	}
	if !done(0) {
		return 0, false
	}
	// The newest mark whose window has all arrived since, by binary search
	// over the ring (older marks are done, newer ones not yet, but for
	// windows that shrink faster than bytes arrive).
	lo, hi := 0, c.nHist-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if done(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if at(lo).at.Before(c.validFrom) {
		return 0, false
	}
	d := now.Sub(at(lo).at)
	return d, d > 0
}

// setClamp applies the connection's share of the window. It is set at
// every sample, moved or not: the kernel's autotuning raises the clamp
// whenever it grows the receive buffer.
func (c *yieldConn) setClamp(w int) {
	if c.probe.clamp(w) == nil {
		c.clamped = w
	}
}

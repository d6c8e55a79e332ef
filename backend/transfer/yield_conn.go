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
// there is no delay signal yet and nothing is clamped).
type probe interface {
	// rcvRTT is the receiver's round-trip estimate from TCP timestamps.
	rcvRTT() (time.Duration, bool)
	// clamp sets the most the socket advertises (TCP_WINDOW_CLAMP).
	clamp(bytes int) error
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
		return c.Conn.Read(p)
	}
	for {
		n, wait := y.admit(len(p))
		if wait == 0 {
			p = p[:n]
			break
		}
		t := y.clk.NewTimer(wait)
		select {
		case <-t.C():
		case <-c.closed:
			t.Stop()
			return 0, net.ErrClosed
		}
	}
	n, err := c.Conn.Read(p)
	y.charge(n)
	c.delivered += n
	if c.probe != nil && c.delivered > 0 {
		if now := y.clk.Now(); now.Sub(c.lastProbe) >= probeEvery {
			c.lastProbe = now
			if rtt, ok := c.probe.rcvRTT(); ok {
				y.Observe(rtt, c.delivered)
				c.delivered = 0
			}
			c.setClamp(y.connWindow())
		}
	}
	return n, err
}

// setClamp applies a new share of the window when it moved by more than
// 1/8 (a setsockopt per sample would cost more than it changes).
func (c *yieldConn) setClamp(w int) {
	if c.clamped != 0 && w > c.clamped-c.clamped/8 && w < c.clamped+c.clamped/8 {
		return
	}
	if c.probe.clamp(w) == nil {
		c.clamped = w
	}
}

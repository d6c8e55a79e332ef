package uploadserver

// What a connection may hold: a body must keep a minimum rate, and Serve
// serves a bounded number of connections.

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// pacedBody makes a request body fail once it falls behind: its first bytes
// within BodyTimeout, then MinBodyRate on average. The deadline is the
// connection's read deadline, so a stalled client ends the read (and the
// handler, and the session lock it holds) rather than holding them forever.
type pacedBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  int64
	n     int64
	eof   bool
}

func (s *Server) pace(w http.ResponseWriter, body io.ReadCloser) io.ReadCloser {
	p := &pacedBody{ReadCloser: body, rc: http.NewResponseController(w), start: time.Now(),
		grace: s.cfg.BodyTimeout, rate: s.cfg.MinBodyRate}
	// Also bounds what the server discards of an unread body after the
	// handler (an embedding server without deadlines says ErrNotSupported).
	_ = p.rc.SetReadDeadline(p.deadline())
	return p
}

func (p *pacedBody) deadline() time.Time {
	secs, rem := p.n/p.rate, p.n%p.rate
	return p.start.Add(p.grace + time.Duration(secs)*time.Second + time.Duration(rem)*time.Second/time.Duration(p.rate))
}

func (p *pacedBody) Read(b []byte) (int, error) {
	if !p.eof {
		// Not after the end: net/http then reads the connection in the
		// background, and a deadline would cut it.
		_ = p.rc.SetReadDeadline(p.deadline())
	}
	n, err := p.ReadCloser.Read(b)
	p.n += int64(n)
	if err == io.EOF {
		p.eof = true
	}
	return n, err
}

// limitListener admits at most max connections. At the limit, an idle
// keep-alive connection is closed to make room for a new one (so idle
// connections cannot starve new clients); with none idle, the new one waits
// for a slot, which a stalled body frees within its deadline.
type limitListener struct {
	net.Listener
	sem    chan struct{}
	idleCh chan struct{} // a connection became idle
	done   chan struct{}
	once   sync.Once

	mu   sync.Mutex
	idle map[*limitConn]time.Time // since when
}

func newLimitListener(l net.Listener, max int) *limitListener {
	return &limitListener{Listener: l, sem: make(chan struct{}, max), idleCh: make(chan struct{}, 1),
		done: make(chan struct{}), idle: map[*limitConn]time.Time{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	// Accept first: only a connection actually waiting may close an idle one.
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		select {
		case l.sem <- struct{}{}:
			return &limitConn{Conn: c, l: l}, nil
		default:
		}
		if l.closeIdle() {
			continue
		}
		select {
		case l.sem <- struct{}{}:
			return &limitConn{Conn: c, l: l}, nil
		case <-l.idleCh:
		case <-l.done:
			c.Close()
			return nil, net.ErrClosed
		}
	}
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// closeIdle closes the connection idle longest; false if none is.
func (l *limitListener) closeIdle() bool {
	l.mu.Lock()
	var oldest *limitConn
	var since time.Time
	for c, t := range l.idle {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	delete(l.idle, oldest)
	l.mu.Unlock()
	if oldest == nil {
		return false
	}
	oldest.Close()
	return true
}

// track is the http.Server's ConnState hook.
func (l *limitListener) track(c net.Conn, st http.ConnState) {
	lc, ok := c.(*limitConn)
	if !ok {
		return
	}
	l.mu.Lock()
	if st == http.StateIdle {
		l.idle[lc] = time.Now()
	} else {
		delete(l.idle, lc)
	}
	l.mu.Unlock()
	if st == http.StateIdle {
		select {
		case l.idleCh <- struct{}{}:
		default:
		}
	}
}

type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.idle, c)
		c.l.mu.Unlock()
		<-c.l.sem
	})
	return c.Conn.Close()
}

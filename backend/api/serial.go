package api

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// NewSerialClient returns a client of the control socket at path that keeps
// one connection and makes one request at a time, with no goroutines and no
// pool: what a command that makes a call or two and exits needs. For such a
// command, http.Transport's machinery (a reader and a writer goroutine per
// connection, each waking a thread) costs a tenth of its whole run. Calls
// from several goroutines wait for each other; an event stream holds the
// connection until it is closed. Use NewClient for anything concurrent.
func NewSerialClient(path string) *Client {
	t := &serialTransport{dial: func(ctx context.Context) (net.Conn, error) { return dial(ctx, path) }}
	return &Client{socket: path, hc: &http.Client{Transport: t}}
}

// serialTransport is an http.RoundTripper over one connection: a request
// holds it from RoundTrip until its response body is closed.
type serialTransport struct {
	dial func(context.Context) (net.Conn, error)
	mu   sync.Mutex // held by the request in flight
	conn net.Conn
	br   *bufio.Reader
}

func (t *serialTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	ctx := req.Context()
	if t.conn == nil {
		c, err := t.dial(ctx)
		if err != nil {
			t.mu.Unlock()
			return nil, err // a *net.OpError: Client.do tells "no engine" by it
		}
		t.conn, t.br = c, bufio.NewReader(c)
	}
	// ctx bounds the exchange, the body's reading included: its deadline,
	// and its cancellation, which makes the connection's calls fail.
	deadline, _ := ctx.Deadline()
	t.conn.SetDeadline(deadline)
	conn := t.conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, error) {
		stop()
		t.drop()
		t.mu.Unlock()
		return nil, err
	}
	if err := req.Write(t.conn); err != nil {
		return fail(err)
	}
	resp, err := http.ReadResponse(t.br, req)
	if err != nil {
		return fail(err)
	}
	resp.Body = &serialBody{ReadCloser: resp.Body, t: t, stop: stop, last: resp.Close}
	return resp, nil
}

// CloseIdleConnections closes the connection unless a request holds it.
func (t *serialTransport) CloseIdleConnections() {
	if t.mu.TryLock() {
		t.drop()
		t.mu.Unlock()
	}
}

func (t *serialTransport) drop() {
	if t.conn != nil {
		t.conn.Close()
		t.conn, t.br = nil, nil
	}
}

// serialBody gives the connection back when the response is closed. One
// read to its end leaves the connection at the next response; one closed
// before (an event stream, a reply given up on) takes the connection with
// it, as does one the engine said it would close.
type serialBody struct {
	io.ReadCloser
	t      *serialTransport
	stop   func() bool
	last   bool // Connection: close
	sawEOF bool
	once   sync.Once
}

func (b *serialBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.sawEOF = true
	}
	return n, err
}

func (b *serialBody) Close() error {
	var err error
	b.once.Do(func() {
		b.stop()
		if !b.sawEOF || b.last {
			// Dropped first: the body's Close would wait for a stream's
			// end. Its complaint about the closed connection is ours.
			b.t.drop()
			b.ReadCloser.Close()
		} else if err = b.ReadCloser.Close(); err != nil {
			b.t.drop()
		}
		b.t.mu.Unlock()
	})
	return err
}

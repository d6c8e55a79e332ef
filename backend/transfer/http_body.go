package transfer

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// errStalled is the cancel cause set by the watchdog.
var errStalled = errors.New("no data received within the stall timeout")

// watchdog cancels the session when a read (or the wait for response
// headers) takes longer than the stall timeout. It is disarmed while the
// Target writes, so a slow or throttled disk is never taken for a stall.
type watchdog struct {
	d time.Duration
	t *time.Timer
}

func newWatchdog(d time.Duration, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{d: d, t: time.AfterFunc(time.Hour, func() { cancel(errStalled) })}
	w.t.Stop()
	return w
}

func (w *watchdog) arm()    { w.t.Reset(w.d) }
func (w *watchdog) disarm() { w.t.Stop() }
func (w *watchdog) stop()   { w.t.Stop() }

// bodyError marks a failure while reading a response body.
type bodyError struct{ err error }

func (e bodyError) Error() string { return "reading body: " + e.err.Error() }
func (e bodyError) Unwrap() error { return e.err }

// bufPools keeps copy buffers per size: a 1 GiB transfer reuses one buffer
// and concurrent jobs do not allocate 256 KiB each time.
var bufPools sync.Map // int → *sync.Pool

func getBuf(size int) *[]byte {
	p, _ := bufPools.LoadOrStore(size, &sync.Pool{New: func() any { b := make([]byte, size); return &b }})
	return p.(*sync.Pool).Get().(*[]byte)
}

func putBuf(b *[]byte) {
	if p, ok := bufPools.Load(len(*b)); ok {
		p.(*sync.Pool).Put(b)
	}
}

// flushAfter caps how long received bytes wait in the buffer on a slow
// link before they are written (progress and checkpoints stay current).
const flushAfter = 5 * time.Millisecond

// copy writes n bytes of body into the Target (n < 0: until EOF). A body
// ending early is a bodyError; bytes received before it are written.
func (s *session) copy(body io.Reader, n int64) error {
	bp := getBuf(s.d.cfg.BufferSize)
	defer putBuf(bp)
	buf := *bp
	remaining := n
	for n < 0 || remaining > 0 {
		p := buf
		if n >= 0 && remaining < int64(len(p)) {
			p = p[:remaining]
		}
		filled, rerr := s.fill(body, p)
		if filled > 0 {
			if _, err := s.t.Write(p[:filled]); err != nil {
				return localErr(err)
			}
			s.offset += int64(filled)
			remaining -= int64(filled)
		}
		switch {
		case rerr == io.EOF && (n < 0 || remaining == 0):
			return nil
		case rerr == io.EOF:
			return bodyError{io.ErrUnexpectedEOF}
		case rerr != nil:
			return bodyError{rerr}
		}
	}
	return nil
}

// skip reads and drops the first n bytes of body: the bytes already held
// when a server sends the whole file to a resumed GET. Nothing is written.
func (s *session) skip(body io.Reader, n int64) error {
	bp := getBuf(s.d.cfg.BufferSize)
	defer putBuf(bp)
	buf := *bp
	for n > 0 {
		p := buf[:min(n, int64(len(buf)))]
		filled, rerr := s.fill(body, p)
		n -= int64(filled)
		switch {
		case n == 0:
			return nil
		case rerr == io.EOF:
			return bodyError{io.ErrUnexpectedEOF}
		case rerr != nil:
			return bodyError{rerr}
		}
	}
	return nil
}

// fill reads into p until it is full, the body ends, or bytes have waited
// flushAfter. Each Read is covered by the watchdog.
func (s *session) fill(body io.Reader, p []byte) (int, error) {
	filled := 0
	var start time.Time
	for filled < len(p) {
		s.wd.arm()
		m, err := body.Read(p[filled:])
		s.wd.disarm()
		filled += m
		if err != nil {
			return filled, err
		}
		if filled > 0 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > flushAfter {
				break
			}
		}
	}
	return filled, nil
}

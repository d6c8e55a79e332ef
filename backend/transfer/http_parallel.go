package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"ferry/backend/bits"
)

// A download over several connections (CONNECTIONS > 1). The first GET is
// the single stream's ("bytes=0-"); only if its answer proves that ranges
// work (a 206 with a valid Content-Range, a known size and a strong ETag or
// a Last-Modified) do more connections join, each splitting the largest
// remaining range, and a connection that finishes takes the tail of the
// segment expected to finish last (Table.claim). Every segment's request
// carries If-Range, so a new version can never be spliced in: it answers
// 200 (or a 206 of another version), and the file restarts from byte 0.
//
// A server that breaks the protocol on a segment (a 200 of the same version
// to a range, a wrong Content-Range, a 416) gets one stream from then on;
// one that refuses an extra connection (429, 503) gets one connection
// fewer. Bytes are written only after their reply was checked.

var (
	// errChanged: a segment's reply is of another version.
	errChanged = errors.New("the remote file changed during a download in segments")
	// errWhole: the last connection's server broke the range protocol:
	// the file is taken again as one stream from byte 0.
	errWhole = errors.New("the server stopped answering ranges")
)

// misbehaved is a reply that breaks the range protocol on a segment.
type misbehaved struct{ why string }

func (m misbehaved) Error() string { return "range protocol broken: " + m.why }

// refused is a 429 or 503 to a segment's request.
type refused struct{ status int }

func (r refused) Error() string { return fmt.Sprintf("HTTP status %d to a segment", r.status) }

// parallel runs the download in segments, restarting the file from byte 0
// when it changes (up to maxRestarts times, as the single stream).
func (s *session) parallel(rt RangeTarget) error {
	for restarts := 0; ; {
		err := s.parallelOnce(rt)
		switch {
		case errors.Is(err, errWhole):
			if err := s.reset(); err != nil {
				return err
			}
			return s.static()
		case errors.Is(err, errChanged):
			if err := s.reset(); err != nil {
				return err
			}
			fallthrough
		case errors.Is(err, errRestart):
			if restarts++; restarts > maxRestarts {
				return remoteErr(bits.BG_E_REMOTE_FILE_CHANGED, true, err)
			}
			continue
		}
		return err
	}
}

func (s *session) parallelOnce(rt RangeTarget) error {
	segs := s.req.Segments
	s.req.Segments = nil // consumed: after a restart the file begins anew
	resumable := s.want.Size > 0 && ifRangeOf(s.want) != ""
	var tab *Table
	switch {
	case len(segs) > 0 && resumable && ValidSegments(s.want.Size, segs):
		tab = NewTable(s.want.Size, segs)
	case len(segs) > 0:
		// Recorded segments that cannot be resumed: start over.
		if err := s.reset(); err != nil {
			return err
		}
	case s.offset > 0 && resumable && s.offset < s.want.Size:
		// One stream's bytes so far: the rest in segments.
		tab = NewTable(s.want.Size, []bits.Segment{{Start: 0, End: s.want.Size, Done: s.offset}})
	case s.offset > 0:
		return s.static()
	}
	var first *http.Response
	if tab == nil {
		resp, ifRange, err := s.send()
		if err != nil {
			return err
		}
		if tab = s.rangedFirst(resp); tab == nil {
			done, err := s.handle(resp, ifRange)
			resp.Body.Close()
			if err != nil || done {
				return err
			}
			return s.static()
		}
		first = resp
	}
	return s.run(rt, tab, first)
}

// rangedFirst returns the table of a file whose first reply shows that
// ranges work, nil for any other reply (it is then taken as one stream).
func (s *session) rangedFirst(resp *http.Response) *Table {
	if resp.StatusCode != http.StatusPartialContent || s.offset != 0 {
		return nil
	}
	start, end, total, err := parseContentRange(resp.Header.Get("Content-Range"))
	if err != nil || start != 0 || end >= total || total < 2*minSegment {
		return nil
	}
	if resp.ContentLength >= 0 && resp.ContentLength != end-start+1 {
		return nil
	}
	if ifRangeOf(validatorOf(resp, total)) == "" {
		return nil // no strong validator: segments could not be kept to one version
	}
	return NewTable(total, nil)
}

// par is one run of connections over a table.
type par struct {
	s      *session
	rt     RangeTarget
	tab    *Table
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	limit  int   // connections allowed now
	active int   // connections working
	sized  bool  // the target was told the version
	fatal  error // ends the download
	last   error // the last failure of a connection that was dropped
}

func (s *session) run(rt RangeTarget, tab *Table, first *http.Response) error {
	ctx, cancel := context.WithCancelCause(s.ctx)
	defer cancel(nil)
	p := &par{s: s, rt: rt, tab: tab, ctx: ctx, cancel: cancel, limit: max(s.req.Connections, 1)}
	if first != nil {
		s.want = validatorOf(first, tab.Size())
		if err := s.sized(s.want); err != nil {
			first.Body.Close()
			return err
		}
		p.sized = true
	}
	if err := rt.Ranged(tab); err != nil {
		if first != nil {
			first.Body.Close()
		}
		return localErr(err)
	}
	defer rt.Connections(0)
	for {
		before := tab.Written()
		p.start(first)
		first = nil
		p.wg.Wait()
		s.offset = tab.Written()
		switch {
		case p.fatal != nil:
			return p.fatal
		case tab.Finished():
			return nil
		case s.ctx.Err() != nil: // stopped, or the first reply stalled
			return s.ctx.Err()
		case tab.Written() == before:
			if p.last != nil {
				return p.last
			}
			return remoteErr(bits.BG_E_CONNECTION_CLOSED, true, errors.New("no connection made progress"))
		}
		// Connections gave up with bytes left (and progress made): again.
	}
}

// start runs up to limit connections; the first one reads first, the
// reply to the first GET, for the first segment.
func (p *par) start(first *http.Response) {
	p.mu.Lock()
	n := p.limit
	p.mu.Unlock()
	for i := 0; i < n; i++ {
		var sg *segment
		var resp *http.Response
		if i == 0 && first != nil {
			sg, resp = p.tab.claim(false), first
		}
		p.mu.Lock()
		p.active++
		p.rt.Connections(p.active)
		p.mu.Unlock()
		p.wg.Add(1)
		go p.worker(i, resp, sg)
	}
}

func (p *par) leave() {
	p.mu.Lock()
	p.active--
	p.rt.Connections(p.active)
	p.mu.Unlock()
	p.wg.Done()
}

// over reports a connection more than the limit allows: it goes.
func (p *par) over() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.active > p.limit
}

func (p *par) fail(err error) {
	p.mu.Lock()
	if p.fatal == nil {
		p.fatal = err
	}
	p.mu.Unlock()
	p.cancel(err)
}

// conn is one connection's session: its own context, stall watchdog and
// exchange (an exchange's auth state is not shared between goroutines).
func (p *par) conn(id int, first bool) (*session, func(), error) {
	s := p.s
	ctx, cancel := context.WithCancelCause(p.ctx)
	ws := &session{d: s.d, parent: p.ctx, ctx: ctx, url: s.url, req: s.req, t: s.t, want: s.want,
		wd: newWatchdog(s.d.cfg.StallTimeout, cancel)}
	closeFn := func() { ws.wd.stop(); cancel(nil) }
	if id == 0 {
		ws.x = s.x
		if first {
			// The first reply was asked under the session's context: its
			// body's stalls are the session's watchdog's.
			cancel(nil)
			ws.ctx, ws.wd = s.ctx, s.wd
			closeFn = func() {}
		}
		return ws, closeFn, nil
	}
	x, err := s.d.newExchange(s.req.Options, true)
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	ws.x = x
	return ws, func() { closeFn(); x.close() }, nil
}

func (p *par) worker(id int, first *http.Response, sg *segment) {
	defer p.leave()
	ws, closeFn, err := p.conn(id, first != nil)
	if err != nil {
		if first != nil {
			first.Body.Close()
		}
		if sg != nil {
			p.tab.release(sg)
		}
		p.fail(err)
		return
	}
	defer closeFn()
	retries := 0
	for {
		if p.ctx.Err() != nil {
			if sg != nil {
				p.tab.release(sg)
			}
			return
		}
		if sg == nil {
			if p.over() {
				return
			}
			if sg = p.tab.claim(true); sg == nil {
				return
			}
		}
		moved, err := ws.fetch(p, sg, first)
		first = nil
		if err == nil {
			sg = nil
			continue
		}
		p.tab.release(sg)
		sg = nil
		if !p.failed(ws, err, moved && retries < QuickRetries) {
			return
		}
		retries++
	}
}

// failed decides what a connection's failure means: it reports whether
// the connection goes on (retry allowed a quick retry of its segment).
func (p *par) failed(ws *session, err error, retry bool) bool {
	if p.ctx.Err() != nil {
		return false
	}
	if errors.Is(err, errChanged) {
		p.fail(errChanged)
		return false
	}
	var mb misbehaved
	if errors.As(err, &mb) {
		p.mu.Lock()
		only := p.active == 1
		p.limit = 1
		p.mu.Unlock()
		p.s.d.cfg.Logger.Info("a server broke the range protocol on a segment: going on with one connection",
			"url", redactURL(p.s.url), "why", mb.why)
		if only {
			p.fail(errWhole)
		}
		return false
	}
	var rf refused
	if errors.As(err, &rf) {
		p.mu.Lock()
		only := p.active == 1
		if !only {
			p.limit = p.active - 1
		}
		limit := p.limit
		p.mu.Unlock()
		if only {
			p.fail(statusErr(rf.status))
			return false
		}
		p.s.d.cfg.Logger.Info("the server refused a connection: going on with fewer", "url", redactURL(p.s.url),
			"status", rf.status, "connections", limit)
		return false
	}
	te := AsError(ws.classify(err))
	if !te.Transient || te.Context == bits.ContextLocalFile {
		p.fail(te)
		return false
	}
	p.mu.Lock()
	p.last = te
	p.mu.Unlock()
	return retry
}

// fetch fetches a segment until it is written (or its tail was taken by
// another connection). moved reports bytes written.
func (ws *session) fetch(p *par, sg *segment, first *http.Response) (moved bool, err error) {
	for {
		done, end := p.tab.bounds(sg)
		if done >= end {
			if first != nil {
				first.Body.Close()
			}
			return moved, nil
		}
		resp := first
		first = nil
		if resp == nil {
			r, err := ws.newRequest(http.MethodGet)
			if err != nil {
				return moved, err
			}
			r.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", done, end-1))
			r.Header.Set("If-Range", ifRangeOf(ws.want))
			if resp, err = ws.do(r); err != nil {
				return moved, err
			}
		}
		n, err := ws.segmentReply(p, sg, resp, done)
		resp.Body.Close() // a body not read to its end closes its connection
		moved = moved || n > 0
		if err != nil {
			return moved, err
		}
	}
}

// segmentReply checks the reply to a segment's GET from done and writes
// its body. n is the number of bytes written.
func (ws *session) segmentReply(p *par, sg *segment, resp *http.Response, done int64) (int64, error) {
	size := p.tab.Size()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, end, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err == nil && changed(ws.want, validatorOf(resp, total)) {
			return 0, errChanged
		}
		if err != nil || total != size || start != done || end >= total {
			return 0, misbehaved{fmt.Sprintf("Content-Range %q to bytes=%d-", resp.Header.Get("Content-Range"), done)}
		}
		if resp.ContentLength >= 0 && resp.ContentLength != end-start+1 {
			return 0, misbehaved{fmt.Sprintf("Content-Length %d for Content-Range %q", resp.ContentLength, resp.Header.Get("Content-Range"))}
		}
		if err := p.sizedOnce(ws.want); err != nil {
			return 0, err
		}
		return ws.copyAt(p, sg, resp.Body, done, end-start+1)
	case http.StatusOK:
		if !sameVersion(ws.want, validatorOf(resp, resp.ContentLength)) {
			return 0, errChanged
		}
		return 0, misbehaved{"200 with the whole file to a range"}
	case http.StatusRequestedRangeNotSatisfiable:
		drain(resp)
		if cr, ok := strings.CutPrefix(resp.Header.Get("Content-Range"), "bytes */"); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(cr), 10, 64); err == nil && n != size {
				return 0, errChanged
			}
		}
		return 0, misbehaved{"416 to a range inside the file"}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		drain(resp)
		return 0, refused{resp.StatusCode}
	}
	drain(resp)
	return 0, statusErr(resp.StatusCode)
}

// sizedOnce tells the target the version before the first byte of a
// resumed download in segments is written.
func (p *par) sizedOnce(v bits.Validator) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sized {
		return nil
	}
	if err := p.s.t.Sized(v); err != nil {
		return localErr(fmt.Errorf("sized: %w", err))
	}
	p.sized = true
	return nil
}

// copyAt writes n bytes of body at the segment's offset, stopping where
// another connection took the rest of the segment.
func (ws *session) copyAt(p *par, sg *segment, body io.Reader, from, n int64) (int64, error) {
	bp := getBuf(ws.d.cfg.BufferSize)
	defer putBuf(bp)
	buf := *bp
	var written int64
	pos, upto := from, from+n // the body's next byte, and where it ends
	for n > 0 {
		q := buf[:min(int64(len(buf)), n)]
		filled, rerr := ws.fill(body, q)
		for k := 0; k < filled; {
			off, m := p.tab.reserve(sg, filled-k)
			if off != pos {
				return written, fmt.Errorf("segment at %d, reply at %d", off, pos) // cannot happen: one writer per segment
			}
			if m > 0 {
				w, err := p.rt.WriteAt(q[k:k+m], off)
				p.tab.wrote(sg, w)
				written += int64(w)
				if err != nil {
					return written, localErr(err)
				}
			}
			k += m
			pos += int64(m)
			if k < filled && !p.tab.extend(sg, upto) {
				return written, nil // the rest is another connection's now
			}
		}
		n -= int64(filled)
		switch {
		case rerr == io.EOF && n == 0:
			return written, nil
		case rerr == io.EOF:
			return written, bodyError{io.ErrUnexpectedEOF}
		case rerr != nil:
			return written, bodyError{rerr}
		}
	}
	return written, nil
}

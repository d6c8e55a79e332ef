package transfer

import (
	"context"
	"io"
	"sync/atomic"
	"time"

	"ferry/backend/bits"
)

// Decorators wrap a Driver with the policies that are not a driver's
// business: the bandwidth cap and the quick retry after a dropped
// connection. The engine composes them per transfer, so neither its worker
// nor its upload code has a throttle or a retry loop of its own. A decorator
// says what it wraps: it is an Uploader exactly when the driver it wraps is
// one (the uploader capability is kept, never invented).

// WaitFunc blocks until n more bytes may move (a rate limiter's WaitN).
type WaitFunc func(ctx context.Context, n int) error

// Limit caps a driver's transfers: every Write of a download and every read
// of an upload's source waits on wait first.
func Limit(d Driver, wait WaitFunc) Driver {
	if wait == nil {
		return d
	}
	l := &limited{Driver: d, wait: wait}
	if up, ok := d.(Uploader); ok {
		return &limitedUploader{limited: l, up: up}
	}
	return l
}

type limited struct {
	Driver
	wait WaitFunc
}

// limitedUploader is Limit of an Uploader: uploads are capped too, and
// sessions end through the wrapped driver (decorators change how bytes
// move, not how sessions end).
type limitedUploader struct {
	*limited
	up Uploader
}

func (l *limitedUploader) CloseSession(ctx context.Context, req UploadRequest) error {
	return l.up.CloseSession(ctx, req)
}

func (l *limitedUploader) CancelSession(ctx context.Context, req UploadRequest) error {
	return l.up.CancelSession(ctx, req)
}

func (l *limited) Download(ctx context.Context, req Request, t Target) error {
	lt := &limitedTarget{Target: t, ctx: ctx, wait: l.wait}
	if rt, ok := t.(RangeTarget); ok {
		// One limiter for every segment: the cap holds for them together.
		return l.Driver.Download(ctx, req, &limitedRangeTarget{limitedTarget: lt, rt: rt})
	}
	return l.Driver.Download(ctx, req, lt)
}

type limitedRangeTarget struct {
	*limitedTarget
	rt RangeTarget
}

func (t *limitedRangeTarget) WriteAt(p []byte, off int64) (int, error) {
	if err := t.wait(t.ctx, len(p)); err != nil {
		return 0, err
	}
	return t.rt.WriteAt(p, off)
}

func (t *limitedRangeTarget) Ranged(tab *Table) error { return t.rt.Ranged(tab) }
func (t *limitedRangeTarget) Connections(n int)       { t.rt.Connections(n) }

func (l *limitedUploader) Upload(ctx context.Context, req UploadRequest, t UploadTarget) (UploadResult, error) {
	req.Source = &limitedSource{r: req.Source, ctx: ctx, wait: l.wait}
	return l.up.Upload(ctx, req, t)
}

type limitedTarget struct {
	Target
	ctx  context.Context
	wait WaitFunc
}

func (t *limitedTarget) Write(p []byte) (int, error) {
	if err := t.wait(t.ctx, len(p)); err != nil {
		return 0, err
	}
	return t.Target.Write(p)
}

type limitedSource struct {
	r    io.ReaderAt
	ctx  context.Context
	wait WaitFunc
}

func (s *limitedSource) ReadAt(p []byte, off int64) (int, error) {
	if err := s.wait(s.ctx, len(p)); err != nil {
		return 0, err
	}
	return s.r.ReadAt(p, off)
}

// QuickRetries is how many times a transfer that was moving bytes when its
// connection dropped is retried at once, before the failure counts as a
// transient error (BITS makes a few immediate reconnect attempts).
const QuickRetries = 3

// QuickBackoff is the pause before each quick retry: short, as BITS' few
// reconnect attempts within a second.
var QuickBackoff = Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond}

// Retry retries a transient failure after a short pause (b), from where the
// transfer got to, when the failed attempt had moved bytes: a dropped
// connection in the middle of a healthy transfer. Failures without progress
// are returned as they are, for the engine's retry delay.
func Retry(d Driver, attempts int, b Backoff) Driver {
	r := &retrying{Driver: d, attempts: attempts, backoff: b}
	if up, ok := d.(Uploader); ok {
		return &retryingUploader{retrying: r, up: up}
	}
	return r
}

type retrying struct {
	Driver
	attempts int
	backoff  Backoff
}

// retryingUploader is Retry of an Uploader.
type retryingUploader struct {
	*retrying
	up Uploader
}

func (r *retryingUploader) CloseSession(ctx context.Context, req UploadRequest) error {
	return r.up.CloseSession(ctx, req)
}

func (r *retryingUploader) CancelSession(ctx context.Context, req UploadRequest) error {
	return r.up.CancelSession(ctx, req)
}

func (r *retrying) Download(ctx context.Context, req Request, t Target) error {
	ct := &countingTarget{Target: t, off: req.Offset, v: req.Validator}
	var target Target = ct
	var crt *countingRangeTarget
	if rt, ok := t.(RangeTarget); ok {
		crt = &countingRangeTarget{countingTarget: ct, rt: rt}
		target = crt
	}
	pause := r.backoff
	for try := 0; ; try++ {
		ct.moved = false
		if crt != nil {
			crt.moved.Store(false)
		}
		err := r.Driver.Download(ctx, req, target)
		moved, local := ct.moved, ct.local != nil
		if crt != nil {
			moved = moved || crt.moved.Load()
			local = local || crt.failed.Load()
		}
		if err == nil || ctx.Err() != nil || local || !moved || try >= r.attempts || !AsError(err).Transient {
			return err
		}
		if werr := pause.Wait(ctx); werr != nil {
			return err
		}
		req.Offset, req.Validator, req.Segments = ct.off, ct.v, nil
		if crt != nil && crt.tab != nil {
			// In segments: every segment goes on from where it got to.
			req.Segments, req.Offset = crt.tab.Snapshot(), crt.tab.Written()
		}
		if req.Offset == 0 && req.Segments == nil {
			req.Validator = bits.Validator{}
		}
	}
}

// countingRangeTarget follows a download in segments: its table, and
// whether bytes moved, from every connection at once.
type countingRangeTarget struct {
	*countingTarget
	rt     RangeTarget
	tab    *Table // set and cleared between the driver's calls of WriteAt
	moved  atomic.Bool
	failed atomic.Bool
}

func (c *countingRangeTarget) WriteAt(p []byte, off int64) (int, error) {
	n, err := c.rt.WriteAt(p, off)
	if n > 0 {
		c.moved.Store(true)
	}
	if err != nil {
		c.failed.Store(true)
	}
	return n, err
}

func (c *countingRangeTarget) Ranged(tab *Table) error {
	if err := c.rt.Ranged(tab); err != nil {
		c.failed.Store(true)
		return err
	}
	c.tab = tab
	return nil
}

func (c *countingRangeTarget) Reset() error {
	c.tab = nil
	return c.countingTarget.Reset()
}

func (c *countingRangeTarget) Connections(n int) { c.rt.Connections(n) }

func (r *retryingUploader) Upload(ctx context.Context, req UploadRequest, t UploadTarget) (UploadResult, error) {
	ct := &countingUpload{UploadTarget: t, sid: req.SessionID, acked: req.Offset}
	pause := r.backoff
	for try := 0; ; try++ {
		ct.moved = false
		res, err := r.up.Upload(ctx, req, ct)
		if err == nil || ctx.Err() != nil || !ct.moved || try >= r.attempts || !AsError(err).Transient {
			return res, err
		}
		if werr := pause.Wait(ctx); werr != nil {
			return res, err
		}
		req.SessionID, req.Offset = ct.sid, ct.acked
	}
}

// countingTarget follows where a download got to, so a retry continues there.
type countingTarget struct {
	Target
	off   int64
	v     bits.Validator
	moved bool
	local error // the target itself failed: not a network problem
}

func (c *countingTarget) Write(p []byte) (int, error) {
	n, err := c.Target.Write(p)
	c.off += int64(n)
	if n > 0 {
		c.moved = true
	}
	if err != nil && c.local == nil {
		c.local = err // the limiter wraps outside: this is the target's own failure
	}
	return n, err
}

func (c *countingTarget) Reset() error {
	if err := c.Target.Reset(); err != nil {
		c.local = err
		return err
	}
	c.off, c.v = 0, bits.Validator{}
	return nil
}

func (c *countingTarget) Sized(v bits.Validator) error {
	if err := c.Target.Sized(v); err != nil {
		c.local = err
		return err
	}
	c.v = v
	return nil
}

type countingUpload struct {
	UploadTarget
	sid   string
	acked int64
	moved bool
}

func (c *countingUpload) Session(id string) error {
	if err := c.UploadTarget.Session(id); err != nil {
		return err
	}
	c.sid, c.acked = id, 0
	return nil
}

func (c *countingUpload) Acked(off int64) error {
	if err := c.UploadTarget.Acked(off); err != nil {
		return err
	}
	if off > c.acked {
		c.moved = true
	}
	c.acked = off
	return nil
}

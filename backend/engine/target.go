package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"ferry/backend/bits"
	"ferry/backend/internal/pinned"
	"ferry/backend/transfer"
)

// fileTarget is transfer.Target over one temporary file: it writes, shows
// the bytes live, and takes a checkpoint (fsync, then record the offset)
// every checkpoint window. Throttling and retries wrap the driver; they are
// not the target's business.
type fileTarget struct {
	d         *download
	idx       int
	f         *os.File
	temp      string
	id        pinned.ID
	off       int64
	validator bits.Validator
	live      *live
	err       error     // a local failure, reported instead of the driver's
	limit     int64     // the bytes MAX_DOWNLOAD_SIZE leaves for this file (-1: no limit)
	hint      *hintFile // resumehint.go; nil: none kept

	// A download in segments (transfer.RangeTarget): several connections
	// write at once, so their bookkeeping (checkpoints, progress) is
	// serialised by mu. tab is nil for one stream.
	mu  sync.Mutex
	tab *transfer.Table
}

var _ transfer.RangeTarget = (*fileTarget)(nil)

func (t *fileTarget) partial() *partial {
	p := &partial{idx: t.idx, temp: t.temp, id: t.id, off: t.off, v: t.validator, f: t.f}
	if t.tab != nil {
		// Taken before the fsync that the checkpoint runs: every byte it
		// counts was written before that fsync.
		p.segs = t.tab.Snapshot()
		p.off = bits.SegmentBytes(p.segs)
	}
	return p
}

// WriteAt writes one segment's bytes at their offset; the connections of
// the segments call it at once.
func (t *fileTarget) WriteAt(p []byte, off int64) (int, error) {
	if t.limit >= 0 && off+int64(len(p)) > t.limit {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.err = t.tooLarge(off + int64(len(p)))
		return 0, &localError{t.err}
	}
	n, err := t.f.WriteAt(p, off)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return n, &localError{t.err}
	}
	t.live.n.Add(int64(n))
	if t.tab != nil && t.hint.due(n, t.d.m.clk.Now()) {
		t.putHint(hint{Segs: t.tab.Snapshot()})
	}
	return t.wrote(n, err)
}

// putHint rewrites the resume hint before the writes it describes. A hint
// that cannot be written is cleared and no longer kept (it only saves
// bytes); one that cannot even be cleared might describe bytes Reset is
// about to discard, so that is a local failure.
func (t *fileTarget) putHint(x hint) {
	if t.hint == nil || t.err != nil {
		return
	}
	x.TempID, x.V = string(t.id), t.validator
	err := t.hint.put(x, t.d.m.clk.Now())
	if err == nil {
		return
	}
	t.d.m.log.Warn("a resume hint could not be written; a crash will resume from the last checkpoint", "err", err)
	if cerr := t.hint.clear(); cerr != nil {
		t.err = cerr
		return
	}
	t.hint.close()
	t.hint = nil
}

// Ranged notes that the bytes now arrive by the segments of tab.
func (t *fileTarget) Ranged(tab *transfer.Table) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tab = tab
	t.off = tab.Written()
	t.live.n.Store(t.off)
	t.putHint(hint{Segs: tab.Snapshot()})
	if t.err != nil {
		return &localError{t.err}
	}
	return nil
}

// Connections shows the connections in use (info's connectionsInUse).
func (t *fileTarget) Connections(n int) { t.live.conns.Store(int32(n)) }

func (t *fileTarget) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, &localError{t.err}
	}
	if t.limit >= 0 && t.off+int64(len(p)) > t.limit {
		t.err = t.tooLarge(t.off + int64(len(p)))
		return 0, &localError{t.err}
	}
	n, err := t.f.Write(p)
	t.off += int64(n)
	t.live.n.Store(t.off)
	return t.wrote(n, err)
}

// wrote accounts for n bytes just written (their live count already
// shown) and takes a checkpoint when one is due. The fsync runs in the
// background; it covers every byte written before it is called, so the
// offsets taken now are safe to record.
func (t *fileTarget) wrote(n int, err error) (int, error) {
	t.d.unsynced += int64(n)
	if n > 0 {
		t.d.progress()
	}
	if err != nil {
		t.err = err
		return n, &localError{err}
	}
	if t.d.due() {
		cur := t.partial()
		if t.d.inPlace {
			// HIGH_PERFORMANCE: the files finished are recorded, never the
			// offset of the one being written.
			cur = nil
		}
		if err := t.d.checkpoint(cur, false); err != nil {
			t.err = err
			return n, &localError{err}
		}
	}
	return n, nil
}

// Reset discards the bytes written (another version, or bad content). The
// offset 0 is recorded before any new byte is written, so two versions are
// never spliced even across a crash.
func (t *fileTarget) Reset() error {
	if err := t.d.waitInflight(); err != nil {
		t.d.m.log.Debug("a superseded checkpoint failed", "err", err) // its offset is moot now
	}
	t.tab = nil
	if err := t.hint.clear(); err != nil { // before the bytes it describes go
		t.err = err
		return &localError{err}
	}
	if err := t.f.Truncate(0); err != nil {
		return &localError{err}
	}
	if _, err := t.f.Seek(0, io.SeekStart); err != nil {
		return &localError{err}
	}
	t.off = 0
	t.validator = bits.Validator{}
	t.live.n.Store(0)
	if err := t.d.record(nil, t.partial()); err != nil {
		t.err = err
		return &localError{err}
	}
	return nil
}

// errTooLarge: the job's files outgrow its MAX_DOWNLOAD_SIZE.
var errTooLarge = errors.New("MAX_DOWNLOAD_SIZE reached")

func (t *fileTarget) tooLarge(n int64) error {
	return fmt.Errorf("%w: file %d needs %d bytes, and the job's MAX_DOWNLOAD_SIZE leaves %d for it", errTooLarge, t.idx, n, t.limit)
}

// sameVersion reports whether two validators can describe one version.
func sameVersion(a, b bits.Validator) bool {
	if a.Size >= 0 && b.Size >= 0 && a.Size != b.Size {
		return false
	}
	if a.ETag != "" && b.ETag != "" && a.ETag != b.ETag {
		return false
	}
	if a.LastModified != "" && b.LastModified != "" && a.LastModified != b.LastModified {
		return false
	}
	return true
}

// Sized notes the version being written; the first answer of a run makes
// the job TRANSFERRING.
func (t *fileTarget) Sized(v bits.Validator) error {
	if t.off > 0 && !t.validator.Zero() && !sameVersion(t.validator, v) {
		// Another version: never splice it onto the bytes we have.
		if err := t.Reset(); err != nil {
			return err
		}
	}
	if t.limit >= 0 && v.Size > t.limit {
		t.err = t.tooLarge(v.Size)
		return &localError{t.err}
	}
	t.validator = v
	t.live.total.Store(v.Size)
	if t.tab == nil {
		// One stream from t.off on, through the file's position.
		t.putHint(hint{Seq: true, From: t.off})
		if t.err != nil {
			return &localError{t.err}
		}
	}
	if err := t.d.toTransferring(); err != nil {
		t.err = err
		return &localError{err}
	}
	return nil
}

package engine

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/pinned"
	"ferry/backend/transfer"
)

// A download job's files are fetched one at a time, in the order added. The
// bookkeeping of small files is batched: a finished file's bytes are made
// durable and its record written together with the other files finished in
// the same checkpoint window (one fsync of the file system, one store
// commit), and its fileTransferred event follows that commit, in order. A
// crash loses at most one window.

const (
	// reserveAhead is how many temporary file names one commit reserves.
	reserveAhead = 64
	// maxPending bounds the finished files waiting for a checkpoint (and
	// the descriptors kept open for it).
	maxPending = 256
)

// download is one worker's run over a download job.
type download struct {
	m        *Manager
	e        *entry
	w        *worker
	pending  []doneFile // transferred, not yet durable
	lastSync time.Time
	unsynced int64
	lastEmit time.Time
	// interval is the job's MINIMUM_NOTIFICATION_INTERVAL_MS (the engine's
	// ProgressInterval when unset); limit is what MAX_DOWNLOAD_SIZE leaves
	// for the file being fetched (-1: no limit).
	interval time.Duration
	limit    int64
	started  bool // the job was committed TRANSFERRING by this run
	// inPlace: a HIGH_PERFORMANCE job; its files are written under their
	// local names and a file's partial progress is not checkpointed.
	inPlace bool
	// inflight is closed when a background checkpoint ends; syncErr is its
	// failure, read only after inflight is closed.
	inflight chan struct{}
	syncErr  error
}

// doneFile is a transferred file waiting for its checkpoint.
type doneFile struct {
	idx     int
	temp    string
	id      pinned.ID // the temporary file's identity
	size    int64
	v       bits.Validator
	modTime time.Time
	f       *os.File
}

// partial is the durable offset of the file being transferred.
type partial struct {
	idx  int
	temp string
	id   pinned.ID
	off  int64
	v    bits.Validator
	f    *os.File
	segs []bits.Segment // a download in segments: each one's durable offset
}

func newDownload(m *Manager, e *entry, w *worker) *download {
	return &download{m: m, e: e, w: w, lastSync: m.clk.Now()}
}

// run fetches every file not yet transferred; nil means all are, durably.
func (d *download) run() *failure {
	m, e := d.m, d.e
	defer d.closePending()
	for idx := 0; ; idx++ {
		m.mu.Lock()
		cur, j := e.current(d.w), e.job
		m.mu.Unlock()
		if !cur {
			d.stopped()
			return nil
		}
		if idx >= len(j.Files) {
			break
		}
		if j.Files[idx].Transferred {
			continue
		}
		if j.Files[idx].TempName == "" {
			if err := d.reserve(idx); err != nil {
				return d.failed(localFailure(err))
			}
			idx-- // read the record again
			continue
		}
		m.mu.Lock()
		opts := m.transferOptions(e, d.w, idx) // options.go
		m.mu.Unlock()
		d.interval, d.limit = m.cfg.ProgressInterval, sizeLimit(j, idx)
		d.inPlace = j.HighPerformance
		if j.NotifyIntervalMS > 0 {
			d.interval = time.Duration(j.NotifyIntervalMS) * time.Millisecond
		}
		done, fail := d.file(idx, j.Files[idx], j.Priority, j.ConnectionsOrDefault(), opts)
		if fail != nil {
			return d.failed(fail)
		}
		if done == nil { // stopped
			d.stopped()
			return nil
		}
		d.pending = append(d.pending, *done)
		if len(d.pending) >= maxPending || d.due() {
			if err := d.checkpoint(nil, false); err != nil {
				return d.failed(localFailure(err))
			}
		}
	}
	if err := d.checkpoint(nil, true); err != nil {
		return localFailure(err)
	}
	return nil
}

// stopped records what a stopped run got to.
func (d *download) stopped() {
	if err := d.checkpoint(nil, true); err != nil {
		d.m.log.Warn("could not record the progress of a stopped transfer", "job", d.e.id, "err", err)
	}
}

// failed records the files finished before a failure, then returns it.
func (d *download) failed(f *failure) *failure {
	if err := d.checkpoint(nil, true); err != nil {
		d.m.log.Warn("could not record the files finished before a failure", "job", d.e.id, "err", err)
	}
	return f
}

func (d *download) due() bool {
	return d.unsynced >= d.m.cfg.CheckpointBytes || d.m.clk.Now().Sub(d.lastSync) >= d.m.cfg.CheckpointInterval
}

func (d *download) closePending() {
	_ = d.waitInflight()
	for _, p := range d.pending {
		p.f.Close()
	}
	d.pending = nil
}

// reserve names the temporary files of the next files without one, in one
// commit: a name is recorded before its file exists, so a crash never leaves
// a temporary file Ferry does not know.
func (d *download) reserve(from int) error {
	return d.m.commit(d.e, func(c *change) error {
		if c.job.State.Final() {
			return errStale
		}
		n := 0
		for i := from; i < len(c.job.Files) && n < reserveAhead; i++ {
			f := &c.job.Files[i]
			if f.Transferred || f.TempName != "" {
				continue
			}
			name := f.LocalName // HIGH_PERFORMANCE: no temporary file
			if !c.job.HighPerformance {
				var err error
				if name, err = tempName(filepath.Dir(f.LocalName)); err != nil {
					return err
				}
			}
			f.TempName, f.TempID, f.BytesTransferred, f.Validator, f.Segments = name, "", 0, bits.Validator{}, nil
			n++
		}
		if n == 0 {
			c.noop = true
		}
		return nil
	})
}

func tempName(dir string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return filepath.Join(dir, ".BIT"+strings.ToUpper(hex.EncodeToString(b[:]))+".tmp"), nil
}

// open opens file idx's temporary file in the directory pinned at AddFile,
// creating it when it does not exist yet. A file written before is reopened
// only if it is the very file created then (its identity is recorded with
// its first checkpoint): a name swapped for a link, a hard link or another
// file is left alone and the job's file starts again under a new name. A
// file found at a reserved name with nothing recorded of it is one an earlier
// run created: the name is removed (a link goes, never its target) and the
// file created anew. fresh reports a new, empty file.
func (d *download) open(idx int, f bits.File) (fh *os.File, id pinned.ID, fresh bool, err error) {
	dir, err := pinned.OpenDir(filepath.Dir(f.LocalName), pinned.ID(f.DirID))
	if err != nil {
		return nil, "", false, dirError(filepath.Dir(f.LocalName), err)
	}
	defer dir.Close()
	base := filepath.Base(f.TempName)
	if f.BytesTransferred > 0 || !f.Validator.Zero() || f.TempID != "" {
		fh, err = dir.Reopen(base, pinned.ID(f.TempID))
		if err == nil {
			return fh, pinned.ID(f.TempID), false, nil
		}
		if errors.Is(err, pinned.ErrChanged) && f.TempName == f.LocalName {
			return nil, "", false, bits.Errorf(bits.E_ACCESSDENIED, "%s was replaced (by another file or a link) since Ferry created it; a HIGH_PERFORMANCE job writes in place and never touches another file: move it away, then resume", f.LocalName)
		}
		if errors.Is(err, pinned.ErrChanged) {
			d.m.log.Warn("a temporary file was replaced; the file starts again under a new name", "job", d.e.id, "file", idx, "err", err)
			if err := d.rename(idx, f.TempName); err != nil {
				return nil, "", false, err
			}
			return nil, "", false, errRenamed
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", false, err
		}
	}
	fh, id, err = dir.Create(base, 0o644)
	if errors.Is(err, fs.ErrExist) && f.TempName == f.LocalName {
		// HIGH_PERFORMANCE writes in place: a file Ferry cannot prove it
		// created (its identity is not recorded) is never written or removed.
		return nil, "", false, bits.Errorf(bits.E_ACCESSDENIED, "%s already exists and Ferry did not create it (or a crash lost its record); a HIGH_PERFORMANCE job writes in place and never overwrites a file: move or delete it, then resume", f.LocalName)
	}
	if errors.Is(err, fs.ErrExist) && f.BytesTransferred == 0 && f.Validator.Zero() && f.TempID == "" {
		if err = dir.Remove(base); err == nil {
			fh, id, err = dir.Create(base, 0o644)
		}
	}
	if errors.Is(err, fs.ErrExist) {
		// It appeared since the open above: never touch it; name ours anew.
		if err := d.rename(idx, f.TempName); err != nil {
			return nil, "", false, err
		}
		return nil, "", false, errRenamed
	}
	if err != nil {
		return nil, "", false, err
	}
	if f.TempName == f.LocalName {
		return fh, id, true, nil // the destination itself: not hidden
	}
	if err := hideFile(fh.Name()); err != nil {
		d.m.log.Warn("could not hide a temporary file", "file", fh.Name(), "err", err)
	}
	return fh, id, true, nil
}

// dirError explains a pinned directory that could not be opened.
func dirError(dir string, err error) error {
	if errors.Is(err, pinned.ErrChanged) {
		return bits.Errorf(bits.E_ACCESSDENIED, "the directory %s was replaced (by a link or another directory) since the file was added; Ferry writes only into the directory it checked then: put it back, or cancel the job and add the file again", dir)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return bits.Errorf(bits.ERROR_PATH_NOT_FOUND, "the directory %s no longer exists", dir)
	}
	return err
}

var errRenamed = errors.New("temporary file renamed")

// rename gives file idx a new temporary name (its old one is taken).
func (d *download) rename(idx int, taken string) error {
	return d.m.commit(d.e, func(c *change) error {
		f := &c.job.Files[idx]
		if f.TempName != taken {
			return errStale
		}
		name, err := tempName(filepath.Dir(f.LocalName))
		if err != nil {
			return err
		}
		f.TempName, f.TempID, f.BytesTransferred, f.Validator, f.Segments = name, "", 0, bits.Validator{}, nil
		return nil
	})
}

// file moves file idx into its temporary file. It returns the finished
// file, or nil and nil when the run was stopped, or the failure.
func (d *download) file(idx int, f bits.File, prio bits.JobPriority, conns int, opts transfer.Options) (*doneFile, *failure) {
	m := d.m
	drv := m.decorated(f.RemoteName, prio)
	if drv == nil {
		return nil, &failure{err: &bits.JobError{Context: bits.ContextRemoteFile, Code: bits.E_INVALIDARG, FileIndex: idx,
			Description: "No transfer driver handles this remote name."}}
	}
	hinted, haveHint := m.readHint(f.TempName)
	if haveHint && f.TempID == "" && f.BytesTransferred == 0 && f.Validator.Zero() && len(f.Segments) == 0 {
		// Created and written in this boot before its first checkpoint:
		// the hint names the file (open checks that it is that very file)
		// and the version of its bytes (resumehint.go).
		f.TempID, f.Validator = hinted.TempID, hinted.V
	}
	fh, id, fresh, err := d.open(idx, f)
	for errors.Is(err, errRenamed) {
		m.mu.Lock()
		f = d.e.job.Files[idx]
		m.mu.Unlock()
		fh, id, fresh, err = d.open(idx, f)
	}
	if err != nil {
		return nil, d.withFile(localFailure(err), idx)
	}
	keep := false
	defer func() {
		if !keep {
			fh.Close()
		}
	}()
	t := &fileTarget{d: d, idx: idx, f: fh, temp: f.TempName, id: id, validator: f.Validator, live: d.live(idx), limit: d.limit}
	if t.hint, err = m.openHint(f.TempName); err != nil {
		m.log.Warn("no resume hint for this file; a crash will resume from the last checkpoint", "job", d.e.id, "file", idx, "err", err)
	}
	defer func() { t.hint.close() }()
	segs := f.Segments
	if !fresh {
		st, err := fh.Stat()
		if err != nil {
			return nil, d.withFile(localFailure(err), idx)
		}
		// After a crash of the process in this boot, the bytes written
		// past the checkpoint are still there (resumehint.go).
		if haveHint {
			if off, hsegs, ok := resumeFrom(hinted, f, string(id), st.Size()); ok {
				m.log.Info("resuming past the checkpoint: the engine crashed, the machine did not", "job", d.e.id, "file", idx,
					"recorded", max(f.BytesTransferred, bits.SegmentBytes(f.Segments)), "resumed", off)
				if hsegs != nil {
					f.Segments, segs = hsegs, hsegs
				} else {
					f.BytesTransferred = off
				}
			}
		}
		if len(segs) > 0 {
			// In segments: each segment's recorded bytes must be on disk;
			// bytes past a segment's offset are written again.
			if st.Size() < segmentsEnd(segs) {
				if err := t.Reset(); err != nil {
					return nil, d.withFile(localFailure(err), idx)
				}
				segs = nil
			} else {
				t.off = bits.SegmentBytes(segs)
			}
		} else if st.Size() < f.BytesTransferred {
			// Recorded bytes that are not on disk cannot be trusted: start over.
			if err := t.Reset(); err != nil {
				return nil, d.withFile(localFailure(err), idx)
			}
		} else {
			if err := fh.Truncate(f.BytesTransferred); err != nil {
				return nil, d.withFile(localFailure(err), idx)
			}
			if _, err := fh.Seek(f.BytesTransferred, io.SeekStart); err != nil {
				return nil, d.withFile(localFailure(err), idx)
			}
			t.off = f.BytesTransferred
		}
	}
	t.live.n.Store(t.off)
	t.live.conns.Store(1)
	req := transfer.Request{URL: f.RemoteName, Offset: t.off, Validator: t.validator, Options: opts, Connections: conns, Segments: segs,
		Ranges: f.Ranges, Response: t.live.response}
	err = drv.Download(d.w.ctx, req, t)
	t.live.conns.Store(0)
	if t.tab != nil {
		t.off = t.tab.Written()
	}
	if err != nil || t.err != nil {
		cerr := d.checkpoint(t.partial(), true)
		if d.w.ctx.Err() != nil {
			return nil, nil
		}
		if errors.Is(t.err, errTooLarge) {
			return nil, &failure{err: &bits.JobError{Context: bits.ContextRemoteFile, Code: bits.BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED,
				Protocol: protocolOf(f.RemoteName), FileIndex: idx, Description: t.err.Error()}}
		}
		if t.err != nil {
			return nil, d.withFile(localFailure(t.err), idx)
		}
		if cerr != nil {
			return nil, d.withFile(localFailure(cerr), idx)
		}
		te := transfer.AsError(err)
		m.log.Info("transfer failed", "job", d.e.id, "file", idx, "code", te.Code.Name(), "transient", te.Transient, "cause", redact(te.Err))
		return nil, &failure{err: &bits.JobError{Context: te.Context, Code: te.Code, Protocol: te.Protocol, FileIndex: idx}, transient: te.Transient}
	}
	if f.SHA256 != "" {
		sum, err := fileSHA256(fh)
		if err != nil {
			return nil, d.withFile(localFailure(err), idx)
		}
		if sum != f.SHA256 {
			// Bad content is never kept: the next Resume downloads it anew.
			if err := t.Reset(); err != nil {
				return nil, d.withFile(localFailure(err), idx)
			}
			return nil, &failure{err: &bits.JobError{Context: bits.ContextRemoteFile, Code: bits.BG_E_VALIDATION_FAILED, Protocol: protocolOf(f.RemoteName), FileIndex: idx,
				Description: fmt.Sprintf("The downloaded file's SHA-256 is %s, not the expected %s.", sum, f.SHA256)}, invalid: true}
		}
	}
	done := &doneFile{idx: idx, temp: t.temp, id: id, size: t.off, v: t.validator, f: fh}
	if mt, err := http.ParseTime(t.validator.LastModified); err == nil {
		done.modTime = mt
	}
	keep = true
	return done, nil
}

func (d *download) withFile(f *failure, idx int) *failure {
	f.err.FileIndex = idx
	return f
}

func (d *download) live(idx int) *live {
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	return d.e.live[idx]
}

// checkpoint makes the finished files (and cur, the file being written, up
// to its offset) durable, then records them in one commit. With wait false
// it runs in the background while the transfer goes on, unless one is
// still running (then it waits for the next window); with wait true it
// finishes every checkpoint first and returns the outcome.
func (d *download) checkpoint(cur *partial, wait bool) error {
	if wait {
		if err := d.waitInflight(); err != nil {
			return err
		}
	} else if d.inflight != nil {
		select {
		case <-d.inflight:
			d.inflight = nil
			if err := d.syncErr; err != nil {
				return err
			}
		default:
			return nil
		}
	}
	done := d.pending
	d.pending = nil
	d.unsynced = 0
	d.lastSync = d.m.clk.Now()
	var files []*os.File
	for _, p := range done {
		files = append(files, p.f)
	}
	if cur != nil {
		files = append(files, cur.f)
	}
	work := func() error {
		defer func() {
			for _, p := range done {
				p.f.Close()
			}
		}()
		if err := syncFiles(files); err != nil {
			return err
		}
		if err := d.record(done, cur); err != nil {
			return err
		}
		for _, p := range done {
			d.m.removeHint(p.temp)
		}
		return nil
	}
	if wait {
		return work()
	}
	ch := make(chan struct{})
	d.inflight = ch
	go func() {
		defer close(ch)
		d.syncErr = work()
	}()
	return nil
}

func (d *download) waitInflight() error {
	if d.inflight == nil {
		return nil
	}
	<-d.inflight
	d.inflight = nil
	return d.syncErr
}

// record writes durable progress: finished files and the current offset.
// It is a fact about the disk, so it is recorded even when the worker was
// stopped meanwhile, unless the file's temporary file changed (Cancel,
// Complete) or the job is gone.
func (d *download) record(done []doneFile, cur *partial) error {
	if len(done) == 0 && cur == nil {
		return nil
	}
	return d.m.commit(d.e, func(c *change) error {
		j := c.job
		if j.State.Final() {
			return errStale
		}
		changed := false
		for _, p := range done {
			f := &j.Files[p.idx]
			if f.Transferred || f.TempName != p.temp {
				continue
			}
			f.BytesTotal, f.BytesTransferred, f.Transferred, f.Validator, f.TempID = p.size, p.size, true, p.v, string(p.id)
			f.Validation = "" // arrived again: not validated yet
			f.Segments = nil
			if !p.modTime.IsZero() {
				f.ModTime = p.modTime
			}
			c.event(EventFileTransferred, p.idx)
			changed = true
		}
		if cur != nil && cur.idx < len(j.Files) {
			f := &j.Files[cur.idx]
			if !f.Transferred && f.TempName == cur.temp && (f.BytesTransferred != cur.off || f.Validator != cur.v || f.TempID != string(cur.id) || !slices.Equal(f.Segments, cur.segs)) {
				f.BytesTransferred, f.Validator, f.TempID, f.Segments = cur.off, cur.v, string(cur.id), cur.segs
				if cur.v.Size >= 0 && !cur.v.Zero() {
					f.BytesTotal = cur.v.Size
				}
				changed = true
				if len(done) == 0 {
					c.event(EventModified, -1)
				}
			}
		}
		if !changed {
			c.noop = true
			return nil
		}
		j.NoProgressSince = time.Time{}
		c.touch() // progress resets the inactivity clock
		return nil
	})
}

// toTransferring commits CONNECTING → TRANSFERRING once a server answered.
func (d *download) toTransferring() error {
	if d.started {
		return nil
	}
	d.started = true
	return d.m.commit(d.e, func(c *change) error {
		if !c.e.current(d.w) || c.job.State != bits.StateConnecting {
			return errStale
		}
		if err := c.to(bits.StateTransferring); err != nil {
			return err
		}
		c.event(EventModified, -1)
		return nil
	})
}

// sizeLimit is what the job's MAX_DOWNLOAD_SIZE leaves for file idx once
// the other files' known sizes are counted (-1: no limit).
func sizeLimit(j *bits.Job, idx int) int64 {
	if j.MaxDownloadSize <= 0 {
		return -1
	}
	left := j.MaxDownloadSize
	for i, f := range j.Files {
		if i != idx && f.BytesTotal > 0 {
			left -= f.BytesTotal
		}
	}
	return max(left, 0)
}

// progress publishes a coalesced "modified" event for live bytes.
func (d *download) progress() {
	now := d.m.clk.Now()
	if now.Sub(d.lastEmit) < d.interval {
		return
	}
	d.lastEmit = now
	m := d.m
	m.mu.Lock()
	if d.e.current(d.w) {
		m.emit(d.e, EventModified, -1)
	}
	m.mu.Unlock()
}

func fileSHA256(f *os.File) (string, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// segmentsEnd is where the last recorded byte of segments ends.
func segmentsEnd(segs []bits.Segment) int64 {
	var end int64
	for _, s := range segs {
		if s.Done > s.Start {
			end = max(end, s.Done)
		}
	}
	return end
}

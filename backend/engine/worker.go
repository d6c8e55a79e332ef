package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"ferry/backend/bits"
	"ferry/backend/transfer"
)

// startWorker gives e a transfer slot (caller holds mu).
func (m *Manager) startWorker(e *entry, now time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{ctx: ctx, cancel: cancel, done: make(chan struct{})}
	prev := e.prev
	e.worker, e.prev = w, nil
	e.sliceStart = now
	m.setState(e, bits.StateConnecting)
	m.persistRow(e)
	m.emit(e, EventModified, -1)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(w.done)
		prev.wait() // never two writers on one temporary file
		m.run(e, w)
	}()
}

// current reports whether w is still e's worker (caller holds mu).
func (e *entry) current(w *worker) bool { return e.worker == w && w.ctx.Err() == nil }

// run transfers e's files in the order added until done, failed or stopped.
func (m *Manager) run(e *entry, w *worker) {
	for {
		m.mu.Lock()
		if !e.current(w) {
			m.mu.Unlock()
			return
		}
		j := e.job
		if j.Type != bits.TypeDownload {
			m.mu.Unlock()
			m.runUpload(e, w) // upload.go
			return
		}
		idx := -1
		for i := range j.Files {
			if !j.Files[i].Transferred {
				idx = i
				break
			}
		}
		if idx < 0 {
			m.finish(e, w)
			m.mu.Unlock()
			return
		}
		f := j.Files[idx]
		opts := m.transferOptions(e, w, idx) // upload.go
		durable := e.durable[idx]
		prio := j.Priority
		m.mu.Unlock()

		size, fail := m.transferFile(w, e, idx, f, durable, prio, opts)

		m.mu.Lock()
		if !e.current(w) {
			m.mu.Unlock()
			return
		}
		if fail != nil {
			fail.err.FileIndex = idx
			m.workerFailed(e, w, fail.err, fail.transient)
			m.mu.Unlock()
			return
		}
		file := &j.Files[idx]
		file.BytesTotal, file.BytesTransferred, e.durable[idx] = size, size, size
		file.Transferred = true
		if t, err := http.ParseTime(file.Validator.LastModified); err == nil {
			file.ModTime = t
		}
		m.persistFile(e, idx)
		m.emit(e, EventFileTransferred, idx)
		m.mu.Unlock()
	}
}

// finish moves e to TRANSFERRED (caller holds mu).
func (m *Manager) finish(e *entry, w *worker) {
	e.worker, e.prev = nil, w
	j := e.job
	m.setState(e, bits.StateTransferred)
	j.CompletionTime = j.ModificationTime
	j.NoProgressSince = timeZero
	j.NotifyEpoch++
	j.NotifyAttemptAt = timeZero
	m.persistJob(e)
	m.emit(e, EventTransferred, -1)
	m.maybeNotify(e)
	m.wake()
}

// workerFailed ends w's slot with a failure (caller holds mu).
func (m *Manager) workerFailed(e *entry, w *worker, je *bits.JobError, transient bool) {
	e.worker, e.prev = nil, w
	m.fail(e, je, !transient, false)
	m.wake()
}

// fail records a failure: TRANSIENT_ERROR with a retry after the minimum
// retry delay, or ERROR when it is fatal, when retries are off
// (NoProgressTimeout 0, retry delay beyond it, custom HTTP method) or when
// nothing has progressed for NoProgressTimeout. policy marks a block by
// bandwidth policy: not counted, re-queued when the policy lifts.
func (m *Manager) fail(e *entry, je *bits.JobError, fatal, policy bool) {
	j := e.job
	now := m.clk.Now()
	if je.Description == "" {
		je.Description = je.Code.Description()
	}
	j.Error = je
	if !policy && je.Code != bits.BG_E_NETWORK_DISCONNECTED {
		j.ErrorCount++
	}
	if !policy && !fatal {
		if j.NoProgressTimeout == 0 || j.MinRetryDelay > j.NoProgressTimeout || j.HTTPMethod != "" {
			fatal = true
		} else {
			if j.NoProgressSince.IsZero() {
				j.NoProgressSince = now
			}
			if now.Sub(j.NoProgressSince) >= time.Duration(j.NoProgressTimeout)*time.Second {
				fatal = true
			}
		}
	}
	if fatal {
		m.toError(e)
		return
	}
	j.RetryAt = timeZero
	if !policy {
		j.RetryAt = now.Add(time.Duration(j.MinRetryDelay) * time.Second)
	}
	m.setState(e, bits.StateTransientError)
	m.persistJob(e)
	m.emit(e, EventModified, -1)
}

// toError moves e to ERROR and raises the JobError event (caller holds mu).
func (m *Manager) toError(e *entry) {
	j := e.job
	m.setState(e, bits.StateError)
	j.RetryAt = timeZero
	j.NotifyEpoch++
	j.NotifyAttemptAt = timeZero
	m.persistJob(e)
	m.emit(e, EventError, -1)
	m.maybeNotify(e)
}

type failure struct {
	err       *bits.JobError
	transient bool
}

func localFailure(err error) *failure {
	code, transient := bits.E_FAIL, false
	switch {
	case errors.Is(err, syscall.ENOSPC):
		code, transient = bits.ERROR_DISK_FULL, true
	case errors.Is(err, fs.ErrPermission):
		code = bits.E_ACCESSDENIED
	case errors.Is(err, fs.ErrNotExist):
		code = bits.ERROR_PATH_NOT_FOUND
	}
	return &failure{err: &bits.JobError{Context: bits.ContextLocalFile, Code: code,
		Description: fmt.Sprintf("%s (%v)", code.Description(), err)}, transient: transient}
}

// localError is returned by Target methods so the driver stops; the worker
// reports the recorded failure rather than the driver's view of it.
type localError struct{ err error }

func (l *localError) Error() string { return "local file: " + l.err.Error() }
func (l *localError) Unwrap() error { return l.err }

func (m *Manager) driverFor(remote string) transfer.Driver {
	if filepath.IsAbs(remote) {
		return m.drvMap[""]
	}
	if u, err := url.Parse(remote); err == nil {
		return m.drvMap[strings.ToLower(u.Scheme)]
	}
	return nil
}

// transferFile moves file idx into its temporary file. It returns the final
// size, or the failure; a stop (w cancelled) returns quietly after the last
// checkpoint.
func (m *Manager) transferFile(w *worker, e *entry, idx int, f bits.File, durable int64, prio bits.JobPriority, opts transfer.Options) (int64, *failure) {
	drv := m.driverFor(f.RemoteName)
	if drv == nil {
		return 0, &failure{err: &bits.JobError{Context: bits.ContextRemoteFile, Code: bits.E_INVALIDARG,
			Description: "No transfer driver handles this remote name."}}
	}
	fh, fresh, err := m.openTemp(e, idx, &f)
	if err != nil {
		return 0, localFailure(err)
	}
	defer fh.Close()
	t := &fileTarget{m: m, e: e, w: w, idx: idx, f: fh, prio: prio, validator: f.Validator, lastSync: m.clk.Now()}
	defer func() { _ = t.wait() }() // before fh.Close
	if st, err := fh.Stat(); err != nil {
		return 0, localFailure(err)
	} else if fresh || st.Size() < durable {
		// Recorded bytes that are not on disk cannot be trusted: start over.
		if err := t.Reset(); err != nil {
			return 0, localFailure(err)
		}
	} else {
		if err := fh.Truncate(durable); err != nil {
			return 0, localFailure(err)
		}
		if _, err := fh.Seek(durable, io.SeekStart); err != nil {
			return 0, localFailure(err)
		}
		t.off = durable
	}
	for quick := 0; ; quick++ {
		t.wrote = false
		err := drv.Download(w.ctx, transfer.Request{URL: f.RemoteName, Offset: t.off, Validator: t.validator, Options: opts}, t)
		if err == nil && t.err == nil {
			break
		}
		cerr := t.checkpoint()
		if w.ctx.Err() != nil {
			return 0, nil
		}
		if t.err != nil {
			return 0, localFailure(t.err)
		}
		if cerr != nil {
			return 0, localFailure(cerr)
		}
		te := transfer.AsError(err)
		// A dropped connection after progress is retried at once a few
		// times before it counts as a transient error, as BITS does.
		if te.Transient && t.wrote && quick < 3 {
			continue
		}
		m.log.Info("transfer failed", "job", e.job.ID, "file", idx, "code", te.Code.Name(), "transient", te.Transient, "cause", redact(te.Err))
		return 0, &failure{err: &bits.JobError{Context: te.Context, Code: te.Code, Protocol: te.Protocol}, transient: te.Transient}
	}
	if err := t.checkpoint(); err != nil {
		return 0, localFailure(err)
	}
	if f.SHA256 != "" {
		sum, err := fileSHA256(fh)
		if err != nil {
			return 0, localFailure(err)
		}
		if sum != f.SHA256 {
			// Bad content is never kept: the next Resume downloads it anew.
			if err := t.Reset(); err != nil {
				return 0, localFailure(err)
			}
			return 0, &failure{err: &bits.JobError{Context: bits.ContextRemoteFile, Code: bits.BG_E_VALIDATION_FAILED, Protocol: protocolOf(f.RemoteName),
				Description: fmt.Sprintf("The downloaded file's SHA-256 is %s, not the expected %s.", sum, f.SHA256)}}
		}
	}
	return t.off, nil
}

func protocolOf(remote string) string {
	if strings.HasPrefix(strings.ToLower(remote), "http") {
		return "http"
	}
	return "file"
}

// redact keeps credentials in URLs out of the logs.
func redact(err error) string {
	if err == nil {
		return ""
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			return strings.ReplaceAll(err.Error(), ue.URL, u.Redacted())
		}
	}
	return err.Error()
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

// openTemp opens file idx's hidden temporary file in the destination
// directory, creating it (never over an existing file) on first use. The
// name is recorded before the file exists, so a crash never leaves a
// temporary file that Ferry does not know.
func (m *Manager) openTemp(e *entry, idx int, f *bits.File) (*os.File, bool, error) {
	if f.TempName != "" {
		fh, err := os.OpenFile(f.TempName, os.O_RDWR, 0)
		if err == nil {
			return fh, false, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, false, err
		}
		// Gone (deleted by someone): make a new one below.
	}
	dir := filepath.Dir(f.LocalName)
	for range 10 {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, false, err
		}
		name := filepath.Join(dir, ".BIT"+strings.ToUpper(hex.EncodeToString(b[:]))+".tmp")
		m.mu.Lock()
		e.job.Files[idx].TempName = name
		e.durable[idx] = 0
		e.job.Files[idx].BytesTransferred = 0
		m.persistFile(e, idx)
		m.mu.Unlock()
		fh, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if err := hideFile(name); err != nil {
			m.log.Warn("temporary file stays visible", "job", e.job.ID, "err", err) // cosmetic
		}
		f.TempName = name
		return fh, true, nil
	}
	return nil, false, errors.New("could not find a free temporary file name")
}

// fileTarget is transfer.Target over a temporary file: it writes, counts,
// throttles, and checkpoints (fsync, then record the offset).
type fileTarget struct {
	m         *Manager
	e         *entry
	w         *worker
	idx       int
	f         *os.File
	prio      bits.JobPriority
	off       int64
	unsynced  int64
	lastSync  time.Time
	validator bits.Validator
	wrote     bool
	err       error // a local failure, reported instead of the driver's
	// inflight is closed when a background checkpoint ends; syncErr is its
	// failure, read only after inflight is closed.
	inflight chan struct{}
	syncErr  error
}

func (t *fileTarget) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, &localError{t.err}
	}
	if err := t.m.bw.wait(t.w.ctx, t.prio, len(p)); err != nil {
		return 0, err
	}
	n, err := t.f.Write(p)
	t.off += int64(n)
	t.unsynced += int64(n)
	if n > 0 {
		t.wrote = true
		t.m.progress(t.e, t.w, t.idx, t.off)
	}
	if err != nil {
		t.err = err
		return n, &localError{err}
	}
	if t.unsynced >= t.m.cfg.CheckpointBytes || t.m.clk.Now().Sub(t.lastSync) >= t.m.cfg.CheckpointInterval {
		if err := t.checkpointAsync(); err != nil {
			t.err = err
			return n, &localError{err}
		}
	}
	return n, nil
}

// checkpointAsync fsyncs in the background while the transfer goes on, and
// records the offset when the fsync returns. fsync covers every byte written
// before it was called, so the offset taken before the call is safe to
// record. A checkpoint still running is left to finish.
func (t *fileTarget) checkpointAsync() error {
	if t.inflight != nil {
		select {
		case <-t.inflight:
			t.inflight = nil
			if t.syncErr != nil {
				return t.syncErr
			}
		default:
			return nil
		}
	}
	off, v := t.off, t.validator
	t.unsynced = 0
	t.lastSync = t.m.clk.Now()
	done := make(chan struct{})
	t.inflight = done
	go func() {
		defer close(done)
		if err := t.f.Sync(); err != nil {
			t.syncErr = err
			return
		}
		t.record(off, v)
	}()
	return nil
}

// wait lets a background checkpoint finish and returns its failure.
func (t *fileTarget) wait() error {
	if t.inflight == nil {
		return nil
	}
	<-t.inflight
	t.inflight = nil
	return t.syncErr
}

// checkpoint makes the written bytes durable, then records their offset.
func (t *fileTarget) checkpoint() error {
	if err := t.wait(); err != nil {
		return err
	}
	if err := t.f.Sync(); err != nil {
		return err
	}
	t.unsynced = 0
	t.lastSync = t.m.clk.Now()
	t.record(t.off, t.validator)
	return nil
}

// record notes that off bytes of version v are durable.
func (t *fileTarget) record(off int64, v bits.Validator) {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	if t.idx >= len(t.e.job.Files) || t.e.job.State.Final() {
		return
	}
	file := &t.e.job.Files[t.idx]
	if t.e.durable[t.idx] != off || file.Validator != v {
		t.e.durable[t.idx] = off
		file.Validator = v
		t.e.job.ModificationTime = t.m.clk.Now() // progress resets the inactivity clock
		t.m.persistFile(t.e, t.idx)
	}
}

func (t *fileTarget) Reset() error {
	_ = t.wait() // its offset is about to be superseded; a failure is moot
	if err := t.f.Truncate(0); err != nil {
		return &localError{err}
	}
	if _, err := t.f.Seek(0, io.SeekStart); err != nil {
		return &localError{err}
	}
	if err := t.f.Sync(); err != nil {
		return &localError{err}
	}
	t.off, t.unsynced = 0, 0
	t.validator = bits.Validator{}
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	if t.e.job.State.Final() {
		return nil
	}
	file := &t.e.job.Files[t.idx]
	file.BytesTransferred, t.e.durable[t.idx] = 0, 0
	file.Validator = bits.Validator{}
	t.m.persistFile(t.e, t.idx)
	return nil
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

func (t *fileTarget) Sized(v bits.Validator) error {
	if t.off > 0 && !t.validator.Zero() && !sameVersion(t.validator, v) {
		// Another version: never splice it onto the bytes we have.
		if err := t.Reset(); err != nil {
			return err
		}
	}
	t.validator = v
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	if !t.e.current(t.w) {
		return nil
	}
	file := &t.e.job.Files[t.idx]
	file.BytesTotal = v.Size
	file.Validator = v
	t.m.persistFile(t.e, t.idx)
	if t.e.job.State == bits.StateConnecting {
		t.m.setState(t.e, bits.StateTransferring)
		t.m.persistRow(t.e)
		t.m.emit(t.e, EventModified, -1)
		t.e.lastEmit = t.m.clk.Now()
	}
	return nil
}

// progress records live bytes (not yet durable) and emits coalesced events.
func (m *Manager) progress(e *entry, w *worker, idx int, off int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !e.current(w) {
		return
	}
	j := e.job
	j.Files[idx].BytesTransferred = off
	j.NoProgressSince = timeZero
	now := m.clk.Now()
	if j.State == bits.StateConnecting {
		m.setState(e, bits.StateTransferring)
	}
	if now.Sub(e.lastEmit) >= m.cfg.ProgressInterval {
		e.lastEmit = now
		m.emit(e, EventModified, -1)
	}
}

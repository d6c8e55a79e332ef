package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"ferry/backend/bits"
	"ferry/backend/clock"
	"ferry/backend/transfer"
)

type worker struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	// yield is the job's rLEDBAT controller, shared by all its connections
	// (transfer.Yielder); enabled while the job yields.
	yield *transfer.Yielder
}

func (w *worker) wait() {
	if w != nil {
		<-w.done
	}
}

// current reports whether w is still e's worker (caller holds mu).
func (e *entry) current(w *worker) bool { return e.worker == w && w.ctx.Err() == nil }

// startWorker gives e a transfer slot (caller holds mu; e is active).
func (m *Manager) startWorker(e *entry, now time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	// The Yielder paces real network reads, as the driver's stall watchdog
	// times real reads: on the real clock, whatever the engine's.
	w := &worker{ctx: ctx, cancel: cancel, done: make(chan struct{}), yield: transfer.NewYielder(clock.Real{})}
	w.yield.SetEnabled(m.yields(e.job))
	prev := e.prev
	e.worker, e.prev = w, nil
	e.sliceStart = now
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(w.done)
		prev.wait() // never two writers on one temporary file
		m.run(e, w)
	}()
}

// yields reports whether j uses only idle bandwidth: every priority but
// FOREGROUND, while bandwidth.yield is on (caller holds mu).
func (m *Manager) yields(j *bits.Job) bool {
	return j.Priority != bits.PriorityForeground && m.settings.Get(KeyBandwidthYield) != 0
}

// refreshYield applies a changed priority or setting to the running
// transfers at once, mid-file (caller holds mu).
func (m *Manager) refreshYield() {
	for _, e := range m.jobs {
		if e.worker != nil {
			e.worker.yield.SetEnabled(m.yields(e.job))
		}
	}
}

// detach stops e's transfer without waiting (caller holds mu). The stopped
// worker checkpoints on its own; a new one waits for it before touching files.
func (m *Manager) detach(e *entry) *worker {
	w := e.worker
	if w == nil {
		return e.prev
	}
	w.cancel()
	e.worker = nil
	e.prev = w
	return w
}

// run transfers e's files until done, failed or stopped.
func (m *Manager) run(e *entry, w *worker) {
	m.mu.Lock()
	typ, cur := e.job.Type, e.current(w)
	m.mu.Unlock()
	if !cur {
		return
	}
	if f := m.lockedFailure(e.id); f != nil { // secretkey.go: never send requests without the job's credentials
		m.workerFailed(e, w, f)
		return
	}
	if typ != bits.TypeDownload {
		m.runUpload(e, w) // upload.go
		return
	}
	d := newDownload(m, e, w)
	fail := d.run()
	if w.ctx.Err() != nil {
		return
	}
	if fail != nil {
		m.workerFailed(e, w, fail)
		return
	}
	m.finish(e, w)
}

// finish moves e to TRANSFERRED.
func (m *Manager) finish(e *entry, w *worker) {
	err := m.commit(e, func(c *change) error {
		if !c.e.current(w) {
			return errStale
		}
		j := c.job
		for i, f := range j.Files {
			if !f.Transferred {
				return bits.Errorf(bits.E_FAIL, "file %d is not transferred yet", i)
			}
		}
		if err := c.to(bits.StateTransferred); err != nil {
			return err
		}
		j.CompletionTime = c.now
		j.NoProgressSince = time.Time{}
		j.NotifyEpoch++
		j.NotifyAttemptAt = time.Time{}
		c.event(EventTransferred, -1)
		c.after = func() { m.maybeNotify(c.e) }
		return nil
	})
	if err != nil {
		m.log.Error("could not record a transferred job; it will transfer again", "job", e.id, "err", err)
		m.mu.Lock()
		if e.current(w) {
			m.detach(e) // the scheduler gives it a slot again
		}
		m.mu.Unlock()
	}
}

// workerFailed ends w's slot with a failure.
func (m *Manager) workerFailed(e *entry, w *worker, f *failure) {
	err := m.commit(e, func(c *change) error {
		if !c.e.current(w) {
			return errStale
		}
		if f.invalid && f.err.FileIndex >= 0 && f.err.FileIndex < len(c.job.Files) {
			invalidate(&c.job.Files[f.err.FileIndex]) // as SetValidationState(FALSE)
			c.forget = append(c.forget, f.err.FileIndex)
		}
		return c.fail(f.err, !f.transient, false)
	})
	if err != nil {
		m.log.Error("could not record a failed transfer", "job", e.id, "code", f.err.Code.Name(), "err", err)
		m.mu.Lock()
		if e.current(w) {
			m.detach(e)
		}
		m.mu.Unlock()
	}
}

type failure struct {
	err       *bits.JobError
	transient bool
	invalid   bool // the file's content failed validation: it is dropped
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
	var be *bits.Error
	if errors.As(err, &be) {
		code = be.Code
		transient = code == bits.ERROR_DISK_FULL
	}
	return &failure{err: &bits.JobError{Context: bits.ContextLocalFile, Code: code,
		Description: fmt.Sprintf("%s (%s)", code.Description(), bits.DetailFor(code, err))}, transient: transient}
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

// decorated is the driver of remote wrapped with the job's policies: the
// bandwidth cap of its priority and the quick retry.
func (m *Manager) decorated(remote string, prio bits.JobPriority) transfer.Driver {
	d := m.driverFor(remote)
	if d == nil {
		return nil
	}
	return transfer.Retry(transfer.Limit(d, m.bw.waiter(prio)), transfer.QuickRetries, transfer.QuickBackoff)
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

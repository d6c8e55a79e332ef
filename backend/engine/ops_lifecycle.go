package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"ferry/backend/bits"
	"ferry/backend/internal/durable"
)

// TakeOwnership is IBackgroundCopyJob::TakeOwnership: the caller becomes the
// owner, and credentials, custom headers and the notify command line go.
func (m *Manager) TakeOwnership(ref string) error {
	return m.update(ref, func(c *change) error {
		j := c.job
		j.Owner = m.cfg.Owner
		j.Credentials = nil
		j.CustomHeaders = ""
		j.NotifyCmdLine = nil
		j.ClientCert = nil
		c.dropSecrets = append(c.dropSecrets, "")
		return nil
	})
}

// Resume is IBackgroundCopyJob::Resume.
func (m *Manager) Resume(ref string) error {
	e, err := m.findLive(ref)
	if err != nil {
		return err
	}
	return m.commit(e, func(c *change) error {
		j := c.job
		if j.State.Final() {
			return finalErr(j)
		}
		if len(j.Files) == 0 {
			return bits.Errorf(bits.BG_E_EMPTY, "job %s has no files; add one first", j.ID)
		}
		switch j.State {
		case bits.StateSuspended, bits.StateError, bits.StateTransientError:
		default:
			c.noop = true // already on its way
			return nil
		}
		j.EverResumed = true
		j.ActiveTime = 0 // Resume restarts the maximum-download-time clock
		j.NoProgressSince = timeZero
		j.RetryAt = timeZero
		if err := c.to(bits.StateQueued); err != nil {
			return err
		}
		c.event(EventModified, -1)
		return nil
	})
}

// Suspend is IBackgroundCopyJob::Suspend (a no-op when already suspended).
// The transfer stops once the state is recorded.
func (m *Manager) Suspend(ref string) error {
	e, err := m.findLive(ref)
	if err != nil {
		return err
	}
	return m.commit(e, func(c *change) error {
		if c.job.State.Final() {
			return finalErr(c.job)
		}
		if c.job.State == bits.StateSuspended {
			c.noop = true
			return nil
		}
		if err := c.to(bits.StateSuspended); err != nil {
			return err
		}
		c.event(EventModified, -1)
		return nil
	})
}

// Cancel is IBackgroundCopyJob::Cancel: the job's temporary files go, files
// already committed by Complete stay. BG_S_UNABLE_TO_DELETE_FILES if some
// temporary file could not be removed.
func (m *Manager) Cancel(ref string) (bits.HRESULT, error) {
	e, err := m.findLive(ref)
	if err != nil {
		return 0, err
	}
	release := m.hold(e)
	defer release()
	return m.cancel(e)
}

// cancel makes a stopped job CANCELLED, then removes its temporary files
// (and cancels its upload session). The record keeps their names, so a
// crash between the two still finds and removes them at the next start.
func (m *Manager) cancel(e *entry) (bits.HRESULT, error) {
	var before *bits.Job
	err := m.commit(e, func(c *change) error {
		if c.job.State.Final() {
			return bits.Errorf(bits.BG_E_INVALID_STATE, "job %s is already %s", c.job.ID, c.job.State)
		}
		before = c.old
		if err := c.to(bits.StateCancelled); err != nil {
			return err
		}
		c.event(EventCancelled, -1)
		return nil
	})
	if err != nil {
		return 0, err
	}
	res := bits.S_OK
	if !removeTemps(m.log, before) {
		res = bits.BG_S_UNABLE_TO_DELETE_FILES
	}
	m.cancelSession(before) // upload.go
	return res, nil
}

// removeTemps deletes the temporary files a job's record names (never a
// committed file). It reports whether all are gone.
func removeTemps(log *slog.Logger, j *bits.Job) bool {
	ok := true
	var names []string
	for _, f := range j.Files {
		if f.TempName != "" && !f.Committed {
			names = append(names, f.TempName)
		}
	}
	if j.Upload != nil && j.Upload.ReplyTemp != "" {
		names = append(names, j.Upload.ReplyTemp)
	}
	for _, n := range names {
		if err := os.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("could not remove temporary file", "job", j.ID, "file", n, "err", err)
			ok = false
		}
	}
	return ok
}

// Complete is IBackgroundCopyJob::Complete: every transferred file is renamed
// onto its local name and the job is ACKNOWLEDGED; files not transferred are
// dropped (BG_S_PARTIAL_COMPLETE). A failed rename leaves the job as it was,
// with the files renamed so far recorded as committed. The renames run with
// the job held off the scheduler and no lock taken.
func (m *Manager) Complete(ref string) (bits.HRESULT, error) {
	e, err := m.findLive(ref)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	j := e.job
	m.mu.Unlock()
	if j.Type != bits.TypeDownload && j.State != bits.StateTransferred {
		return 0, bits.Errorf(bits.BG_E_INVALID_STATE, "an upload job can be completed only once TRANSFERRED; it is %s", j.State)
	}
	release := m.hold(e)
	defer release()
	m.mu.Lock()
	j = e.job // after the worker's last checkpoint
	m.mu.Unlock()
	if j.State.Final() {
		return 0, bits.Errorf(bits.BG_E_INVALID_STATE, "job %s is already %s", j.ID, j.State)
	}
	// Every local name is checked before the first rename, so a refusal
	// changes nothing.
	existing := map[int]fs.FileInfo{}
	for i, f := range j.Files {
		if f.Transferred && !f.Committed {
			st, err := replaceable(f.LocalName)
			if err != nil {
				return 0, err
			}
			if st != nil {
				existing[i] = st
			}
		}
	}
	// Recorded before any rename: if the final record cannot be written
	// after the renames, a retried Complete knows they happened.
	if err := m.commit(e, func(c *change) error {
		c.noop = c.job.Completing
		c.job.Completing = true
		return nil
	}); err != nil {
		return 0, err
	}
	m.mu.Lock()
	j = e.job
	m.mu.Unlock()
	res := bits.S_OK
	committed := map[int]bool{}
	dropped := map[int]bool{}
	dirs := map[string]bool{}
	var renameErr error
	if j.Type == bits.TypeDownload {
		for i, f := range j.Files {
			if f.Committed {
				continue
			}
			if !f.Transferred {
				if f.TempName != "" {
					if err := os.Remove(f.TempName); err != nil && !errors.Is(err, fs.ErrNotExist) {
						m.log.Warn("could not remove temporary file", "job", j.ID, "file", f.TempName, "err", err)
					}
				}
				dropped[i] = true
				res = bits.BG_S_PARTIAL_COMPLETE
				continue
			}
			if err := commitFile(&f, existing[i], j.Completing); err != nil {
				renameErr = bits.Errorf(codeOr(err, bits.E_ACCESSDENIED), "could not move %s into place: %v; the job stays %s, retry Complete or Cancel", f.LocalName, err, j.State)
				break
			}
			committed[i] = true
			dirs[filepath.Dir(f.LocalName)] = true
		}
	}
	for d := range dirs { // one directory sync makes many renames durable
		if err := durable.SyncDir(d); err != nil && renameErr == nil {
			renameErr = bits.Errorf(bits.E_FAIL, "could not make the renames in %s durable: %v", d, err)
		}
	}
	if renameErr == nil {
		renameErr = m.commitReply(j) // upload.go: upload-reply jobs
	}
	err = m.commit(e, func(c *change) error {
		cj := c.job
		for i := range cj.Files {
			f := &cj.Files[i]
			if committed[i] {
				f.Committed, f.TempName = true, ""
			}
			if dropped[i] {
				f.TempName = ""
			}
		}
		if renameErr != nil {
			if len(committed) == 0 && len(dropped) == 0 {
				c.noop = true
			}
			return nil
		}
		cj.Completing = false
		if cj.Upload != nil {
			cj.Upload.ReplyTemp = ""
		}
		if err := c.to(bits.StateAcknowledged); err != nil {
			return err
		}
		c.event(EventAcknowledged, -1)
		return nil
	})
	if renameErr != nil {
		if err != nil {
			m.log.Error("could not record the files Complete moved into place", "job", j.ID, "err", err)
		}
		return 0, renameErr
	}
	if err != nil {
		return 0, err
	}
	return res, nil
}

// commitFile renames the temporary file onto the local name; old is the
// regular file it replaces (nil: none), which lends the new file its
// permissions. A temporary file already gone under a rename that Complete
// recorded as begun means an earlier Complete made it.
func commitFile(f *bits.File, old fs.FileInfo, begun bool) error {
	if f.TempName == "" {
		return errors.New("the temporary file is missing")
	}
	if old != nil {
		if err := os.Chmod(f.TempName, old.Mode().Perm()); err != nil {
			if errors.Is(err, fs.ErrNotExist) && begun {
				return nil
			}
			return fmt.Errorf("keep the permissions of %s: %w", f.LocalName, err)
		}
		keepOwner(f.TempName, old)
	}
	if !f.ModTime.IsZero() {
		_ = os.Chtimes(f.TempName, f.ModTime, f.ModTime) // the server's time, as BITS
	}
	err := os.Rename(f.TempName, f.LocalName)
	if errors.Is(err, fs.ErrNotExist) && begun {
		if _, lerr := os.Lstat(f.LocalName); lerr == nil {
			return nil
		}
	}
	return err
}

// codeOr is err's BITS code, or def when it has none.
func codeOr(err error, def bits.HRESULT) bits.HRESULT {
	var be *bits.Error
	if errors.As(err, &be) {
		return be.Code
	}
	return def
}

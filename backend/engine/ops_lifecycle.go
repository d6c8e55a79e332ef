package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"ferry/backend/bits"
	"ferry/backend/internal/pinned"
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
		if err := c.verb("resume"); err != nil || c.noop {
			return err // a job already on its way is left alone
		}
		j.EverResumed = true
		j.ActiveTime = 0 // Resume restarts the maximum-download-time clock
		j.NoProgressSince = timeZero
		j.RetryAt = timeZero
		if err := c.to(verb("resume").To); err != nil {
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
		if err := c.verb("suspend"); err != nil || c.noop {
			return err
		}
		if err := c.to(verb("suspend").To); err != nil {
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
	return m.cancel(e)
}

// cancel makes a stopped job CANCELLED, then removes its temporary files
// (and cancels its upload session), as one exclusive step. The record keeps
// their names, so a crash between the two still finds and removes them at
// the next start.
func (m *Manager) cancel(e *entry) (bits.HRESULT, error) {
	res := bits.S_OK
	err := m.exclusive(e, func(commit commitFunc) error {
		var before *bits.Job
		if err := commit(func(c *change) error {
			if err := c.verb("cancel"); err != nil || c.noop {
				return err
			}
			before = c.old
			if err := c.to(verb("cancel").To); err != nil {
				return err
			}
			c.event(EventCancelled, -1)
			return nil
		}); err != nil || before == nil {
			return err
		}
		if !removeTemps(m.log, before) {
			res = bits.BG_S_UNABLE_TO_DELETE_FILES
		}
		m.cancelSession(before) // upload.go
		return nil
	})
	if err != nil {
		return 0, err
	}
	return res, nil
}

// removeTemps deletes the temporary files a job's record names (never a
// committed file), each in the directory pinned at AddFile: in a directory
// replaced since, nothing is removed. It reports whether all are gone.
func removeTemps(log *slog.Logger, j *bits.Job) bool {
	ok := true
	dirs := dirCache{}
	defer dirs.close()
	for _, f := range j.Files {
		if f.TempName == "" || f.Committed {
			continue
		}
		dir, err := dirs.open(f)
		if err == nil {
			err = removeTemp(dir, f)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("could not remove temporary file", "job", j.ID, "file", f.TempName, "err", err)
			ok = false
		}
	}
	if j.Upload != nil && j.Upload.ReplyTemp != "" {
		if err := os.Remove(j.Upload.ReplyTemp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("could not remove temporary file", "job", j.ID, "file", j.Upload.ReplyTemp, "err", err)
			ok = false
		}
	}
	return ok
}

// dirCache keeps the pinned directory of the files being worked on: the
// files of a job are mostly in one directory, and a job's files in
// thousands of directories must not hold thousands of descriptors, so one
// stays open (made durable before it is closed when sync is set).
type dirCache struct {
	cur  *pinned.Dir
	sync bool
	err  error // the first failed directory sync
}

func (c *dirCache) open(f bits.File) (*pinned.Dir, error) {
	dir := filepath.Dir(f.LocalName)
	if c.cur != nil && c.cur.Path() == dir {
		return c.cur, nil
	}
	c.close()
	d, err := pinned.OpenDir(dir, pinned.ID(f.DirID))
	if err != nil {
		return nil, dirError(dir, err)
	}
	c.cur = d
	return d, nil
}

func (c *dirCache) close() {
	if c.cur == nil {
		return
	}
	if c.sync {
		if err := c.cur.Sync(); err != nil && c.err == nil {
			c.err = bits.Errorf(bits.E_FAIL, "could not make the renames in %s durable: %v", c.cur.Path(), err)
		}
	}
	c.cur.Close()
	c.cur = nil
}

// Complete is IBackgroundCopyJob::Complete: every transferred file is renamed
// onto its local name and the job is ACKNOWLEDGED; files not transferred are
// dropped (BG_S_PARTIAL_COMPLETE). A failed rename leaves the job as it was,
// with the files renamed so far recorded as committed. It is one exclusive
// step (no other operation on the job falls between its check and its last
// write); the renames run with no lock of the engine taken.
func (m *Manager) Complete(ref string) (bits.HRESULT, error) {
	e, err := m.findLive(ref)
	if err != nil {
		return 0, err
	}
	var res bits.HRESULT
	err = m.exclusive(e, func(commit commitFunc) error {
		res, err = m.complete(e, commit)
		return err
	})
	return res, err
}

func (m *Manager) complete(e *entry, commit commitFunc) (bits.HRESULT, error) {
	m.mu.Lock()
	j := e.job // after the worker's last checkpoint
	m.mu.Unlock()
	if err := verb("complete").check(j); err != nil {
		if err == errNoOp {
			return bits.S_OK, nil
		}
		return 0, err
	}
	// Every directory and local name is checked before the first rename, so
	// a refusal changes nothing.
	existing := map[int]fs.FileInfo{}
	dirs := dirCache{}
	for i, f := range j.Files {
		if f.Transferred && !f.Committed {
			dir, err := dirs.open(f)
			if err != nil {
				dirs.close()
				return 0, err
			}
			st, err := replaceableIn(dir, f.LocalName)
			if err != nil {
				dirs.close()
				return 0, err
			}
			if st != nil && f.TempName != f.LocalName { // in place: it is the file itself
				existing[i] = st
			}
		}
	}
	dirs.close()
	// Recorded before any rename: if the final record cannot be written
	// after the renames, a retried Complete knows they happened.
	if err := commit(func(c *change) error {
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
	lost := map[int]bool{} // its temporary file was replaced: it starts again
	var renameErr error
	dirs = dirCache{sync: true}
	if j.Type == bits.TypeDownload {
		for i, f := range j.Files {
			if f.Committed {
				continue
			}
			if !f.Transferred {
				if f.TempName != "" {
					dir, err := dirs.open(f)
					if err == nil {
						err = removeTemp(dir, f)
					}
					if err != nil && !errors.Is(err, fs.ErrNotExist) {
						m.log.Warn("could not remove temporary file", "job", j.ID, "file", f.TempName, "err", err)
					}
				}
				dropped[i] = true
				res = bits.BG_S_PARTIAL_COMPLETE
				continue
			}
			dir, err := dirs.open(f)
			if err == nil {
				err = commitFile(dir, &f, existing[i], j.Completing)
			}
			if errors.Is(err, pinned.ErrChanged) { // the file's; a directory's is a bits.Error
				lost[i] = true
				renameErr = bits.Errorf(bits.E_ACCESSDENIED, "the temporary file of %s was replaced by another file or a link, so it is not moved into place: %v; the file is downloaded again, then Complete", f.LocalName, err)
				break
			}
			if err != nil {
				renameErr = bits.Errorf(codeOr(err, bits.E_ACCESSDENIED), "could not move %s into place: %v; the job stays %s, retry Complete or Cancel", f.LocalName, err, j.State)
				break
			}
			committed[i] = true
		}
	}
	dirs.close() // one directory sync makes many renames durable
	if renameErr == nil {
		renameErr = dirs.err
	}
	if renameErr == nil {
		renameErr = m.commitReply(j) // upload.go: upload-reply jobs
	}
	err := commit(func(c *change) error {
		cj := c.job
		for i := range cj.Files {
			f := &cj.Files[i]
			if committed[i] {
				f.Committed, f.TempName, f.TempID = true, "", ""
				f.Validation = "true" // Complete implies TRUE (File3)
			}
			if dropped[i] {
				f.TempName, f.TempID = "", ""
			}
			if lost[i] {
				f.Transferred, f.BytesTransferred, f.TempName, f.TempID, f.Validator, f.Segments = false, 0, "", "", bits.Validator{}, nil
			}
		}
		if renameErr != nil {
			if len(lost) > 0 && cj.State == bits.StateTransferred {
				cj.CompletionTime = timeZero
				if err := c.to(bits.StateQueued); err != nil {
					return err
				}
				c.event(EventModified, -1)
			}
			if len(committed) == 0 && len(dropped) == 0 && len(lost) == 0 {
				c.noop = true
			}
			return nil
		}
		cj.Completing = false
		if cj.Upload != nil {
			cj.Upload.ReplyTemp = ""
		}
		if err := c.to(verb("complete").To); err != nil {
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

// commitFile renames the temporary file onto the local name within dir,
// the directory pinned at AddFile. The temporary file is moved only when it
// is the file created for it (a replaced one is pinned.ErrChanged); old is
// the regular file it replaces (nil: none), which lends the new file its
// permissions. A temporary file already gone under a rename that Complete
// recorded as begun means an earlier Complete made it.
func commitFile(dir *pinned.Dir, f *bits.File, old fs.FileInfo, begun bool) error {
	if f.TempName == "" {
		return errors.New("the temporary file is missing")
	}
	temp, local := filepath.Base(f.TempName), filepath.Base(f.LocalName)
	fh, err := dir.Reopen(temp, pinned.ID(f.TempID))
	if err == nil && temp == local {
		// HIGH_PERFORMANCE: the file Ferry created is already in place.
		defer fh.Close()
		if !f.ModTime.IsZero() {
			_ = pinned.SetModTime(fh, f.ModTime)
		}
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) && begun {
		if _, lerr := dir.Lstat(local); lerr == nil {
			return nil
		}
	}
	if err != nil {
		return err
	}
	defer fh.Close()
	if old != nil {
		if err := fh.Chmod(old.Mode().Perm()); err != nil {
			return fmt.Errorf("keep the permissions of %s: %w", f.LocalName, err)
		}
		keepOwner(fh, old)
	}
	if !f.ModTime.IsZero() {
		_ = pinned.SetModTime(fh, f.ModTime) // the server's time, as BITS
	}
	return dir.Rename(temp, local)
}

// removeTemp removes a file's temporary file. A HIGH_PERFORMANCE file is
// written under its local name: it is removed only when it is provably the
// file Ferry created (its recorded identity); one Ferry cannot prove is left
// alone (errNotOurs).
func removeTemp(dir *pinned.Dir, f bits.File) error {
	base := filepath.Base(f.TempName)
	if f.TempName != f.LocalName {
		return dir.Remove(base)
	}
	if f.TempID == "" {
		if _, err := dir.Lstat(base); err != nil {
			return err // gone, or never created
		}
		return errNotOurs
	}
	fh, err := dir.Reopen(base, pinned.ID(f.TempID))
	if err != nil {
		return err
	}
	fh.Close()
	return dir.Remove(base)
}

var errNotOurs = errors.New("the file at the local name is not provably the one Ferry created; it is left in place")

// codeOr is err's BITS code, or def when it has none.
func codeOr(err error, def bits.HRESULT) bits.HRESULT {
	var be *bits.Error
	if errors.As(err, &be) {
		return be.Code
	}
	return def
}

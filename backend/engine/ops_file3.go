package engine

import (
	"fmt"

	"ferry/backend/bits"
)

// The file-level methods of IBackgroundCopyFile2, File3 and File5, for the
// file at a 0-based index in the order added.

// FileAt checks a file index against a job's record.
func FileAt(j *bits.Job, idx int) (*bits.File, error) {
	if idx < 0 || idx >= len(j.Files) {
		return nil, bits.Errorf(bits.E_INVALIDARG, "job %s has %d file(s); there is no file at index %d", j.ID, len(j.Files), idx)
	}
	return &j.Files[idx], nil
}

// SetRemoteName is IBackgroundCopyFile2::SetRemoteName: download jobs only;
// the file goes on from where it got to when the new URL serves the same
// version (its validator is kept and checked), else it restarts from byte 0,
// as ReplaceRemotePrefix. A transfer under way restarts with the new name.
func (m *Manager) SetRemoteName(ref string, idx int, remote string) error {
	if len(remote) > bits.MaxRemoteURL {
		return bits.Errorf(bits.E_INVALIDARG, "the remote name has %d characters; the limit is %d", len(remote), bits.MaxRemoteURL)
	}
	scheme, err := m.remoteScheme(remote)
	if err != nil {
		return err
	}
	return m.update(ref, func(c *change) error {
		if c.job.Type != bits.TypeDownload {
			return bits.Errorf(bits.E_NOTIMPL, "SetRemoteName applies to download jobs only")
		}
		f, err := FileAt(c.job, idx)
		if err != nil {
			return err
		}
		if f.Ranges != nil && scheme != "http" && scheme != "https" {
			return bits.Errorf(bits.E_INVALIDARG, "file %d has byte ranges, which are fetched from http:// and https:// URLs only", idx)
		}
		if f.RemoteName == remote {
			c.noop = true
			return nil
		}
		f.RemoteName = remote
		c.restart = true
		return nil
	})
}

// SetValidationState is IBackgroundCopyFile3::SetValidationState, once the
// file has fully arrived (E_PENDING before). TRUE records it; FALSE drops
// the content (the file's progress goes back to 0) and puts the job in
// ERROR with BG_E_VALIDATION_FAILED: Resume downloads the file again.
func (m *Manager) SetValidationState(ref string, idx int, valid bool) error {
	return m.update(ref, func(c *change) error {
		f, err := FileAt(c.job, idx)
		if err != nil {
			return err
		}
		if !f.Transferred {
			return bits.Errorf(bits.E_PENDING, "file %d has not fully arrived yet; its validation state can be set once it has", idx)
		}
		if f.Committed {
			return bits.Errorf(bits.BG_E_INVALID_STATE, "file %d is already in place (complete implies TRUE)", idx)
		}
		if valid {
			f.Validation = "true"
			return nil
		}
		invalidate(f)
		c.restart = true
		c.forget = append(c.forget, idx)
		return c.fail(&bits.JobError{Context: bits.ContextRemoteFile, Code: bits.BG_E_VALIDATION_FAILED,
			Protocol: protocolOf(f.RemoteName), FileIndex: idx,
			Description: fmt.Sprintf("The content of file %d was marked invalid; resume downloads it again.", idx)}, true, false)
	})
}

// forget drops the live counts of file idx, so that views show its record
// (caller holds mu).
func (e *entry) forget(idx int) {
	if idx < len(e.live) {
		e.live[idx].n.Store(-1)
		e.live[idx].total.Store(-2)
	}
}

// invalidate drops a file's content from the record: the next transfer
// starts it from byte 0 (the temporary file is truncated when reopened).
func invalidate(f *bits.File) {
	f.Validation = "false"
	f.Transferred, f.BytesTransferred, f.Validator, f.Segments = false, 0, bits.Validator{}, nil
}

// ResponseHeaders is File5's HTTP_RESPONSE_HEADERS: the header block of the
// last HTTP response for the file since the engine started ("" when none;
// kept in memory only, since it may carry cookies).
func (m *Manager) ResponseHeaders(ref string, idx int) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookup(ref)
	if err != nil {
		return "", err
	}
	if _, err := FileAt(e.job, idx); err != nil {
		return "", err
	}
	if idx >= len(e.live) {
		return "", nil
	}
	if h := e.live[idx].headers.Load(); h != nil {
		return *h, nil
	}
	return "", nil
}

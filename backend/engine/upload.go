package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"ferry/backend/bits"
	"ferry/backend/transfer"
)

// cancelSessionWindow bounds how long a cancelled upload keeps sending
// Cancel-Session (BITS: up to 24 h; Ferry: while the engine runs, this long).
const cancelSessionWindow = 10 * time.Minute

// errStopped: the worker lost its slot while the driver was talking.
var errStopped = errors.New("transfer stopped")

// runUpload runs an UPLOAD or UPLOAD_REPLY job (bits-reference §14): the
// file goes up over the BITS upload protocol, the reply comes down
// (upload-reply), Close-Session releases the server's session, and the job
// is TRANSFERRED. The same failure rules as downloads apply.
func (m *Manager) runUpload(e *entry, w *worker) {
	var j *bits.Job
	err := m.commit(e, func(c *change) error {
		if !c.e.current(w) {
			return errStale
		}
		if c.job.Upload == nil {
			c.job.Upload = &bits.UploadSession{ReplyTotal: bits.SizeUnknown}
		} else {
			c.noop = true
		}
		j = c.job
		return nil
	})
	if err != nil || j == nil {
		m.uploadFailed(e, w, localFailure(err))
		return
	}
	if len(j.Files) != 1 {
		m.workerFailed(e, w, &failure{err: &bits.JobError{Context: bits.ContextGeneralQueueManager, Code: bits.BG_E_TOO_MANY_FILES, FileIndex: -1,
			Description: fmt.Sprintf("An %s job holds exactly one file; this one has %d.", j.Type, len(j.Files))}})
		return
	}
	m.mu.Lock()
	f, sess, typ, prio := j.Files[0], *j.Upload, j.Type, j.Priority
	opts := m.transferOptions(e, w, -1)
	m.mu.Unlock()

	up, ok := m.driverFor(f.RemoteName).(transfer.Uploader)
	if !ok {
		m.uploadFailed(e, w, &failure{err: &bits.JobError{Context: bits.ContextRemoteFile, Code: bits.E_INVALIDARG,
			Description: "No transfer driver speaks the BITS upload protocol for this remote name."}})
		return
	}
	dec := m.decorated(f.RemoteName, prio).(transfer.Uploader)
	steps := []func() *failure{
		func() *failure {
			if f.Transferred {
				return nil
			}
			return m.uploadFile(w, e, f, opts, dec)
		},
		func() *failure {
			if typ != bits.TypeUploadReply || sess.ReplyDone {
				return nil
			}
			return m.fetchReply(w, e, opts, prio) // reply.go
		},
		func() *failure {
			if sess.Closed {
				return nil
			}
			return m.closeSession(w, e, opts, up)
		},
	}
	for _, step := range steps {
		if fail := step(); fail != nil {
			m.uploadFailed(e, w, fail)
			return
		}
		if w.ctx.Err() != nil {
			return
		}
	}
	m.finish(e, w)
}

// uploadFailed ends the slot with a failure (a stop is not one).
func (m *Manager) uploadFailed(e *entry, w *worker, fail *failure) {
	if w.ctx.Err() != nil || fail == nil || fail.err == nil {
		return
	}
	fail.err.FileIndex = 0
	m.workerFailed(e, w, fail)
}

// stopped is the failure value of a worker that lost its slot.
var stopped = &failure{}

// changeError stops an upload whose file changed.
type changeError struct{ why string }

func (c *changeError) Error() string { return "the file to upload changed: " + c.why }

// changedFailure is BG_E_LOCAL_FILE_CHANGED: fatal, as in BITS.
func changedFailure(why string) *failure {
	return &failure{err: &bits.JobError{Context: bits.ContextLocalFile, Code: bits.BG_E_LOCAL_FILE_CHANGED,
		Description: fmt.Sprintf("%s The file to upload changed since the upload began: %s.", bits.BG_E_LOCAL_FILE_CHANGED.Description(), why)}}
}

// fileChange compares a file's size and modification time with those the
// session began with ("" when they match).
func fileChange(st fs.FileInfo, s bits.UploadSession) string {
	if st.Size() != s.FileSize {
		return fmt.Sprintf("its size is %d bytes, it was %d", st.Size(), s.FileSize)
	}
	if !st.ModTime().Equal(s.FileModTime) {
		return fmt.Sprintf("modified at %s, it was %s", st.ModTime().UTC().Format(time.RFC3339Nano), s.FileModTime.UTC().Format(time.RFC3339Nano))
	}
	return ""
}

// uploadFile sends the file until the server acknowledged its last byte.
// The driver comes decorated: throttled, and retried at once after a
// dropped connection that had made progress.
func (m *Manager) uploadFile(w *worker, e *entry, f bits.File, opts transfer.Options, up transfer.Uploader) *failure {
	fh, err := os.Open(f.LocalName)
	if err != nil {
		return localFailure(err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return localFailure(err)
	}
	var sess bits.UploadSession
	var why string
	current := false
	err = m.commit(e, func(c *change) error {
		if !c.e.current(w) {
			return errStale
		}
		current = true
		u := c.job.Upload
		if u.SessionID != "" || !u.FileModTime.IsZero() {
			if why = fileChange(st, *u); why != "" {
				c.noop = true
				return nil
			}
		} else {
			u.FileSize, u.FileModTime = st.Size(), st.ModTime()
		}
		c.job.Files[0].BytesTotal = st.Size()
		sess = *u
		return nil
	})
	switch {
	case err != nil:
		return localFailure(err)
	case why != "":
		return changedFailure(why)
	case !current:
		return stopped
	}
	t := &uploadTarget{m: m, e: e, w: w, path: f.LocalName, ident: sess, live: m.liveOf(e, 0)}
	req := transfer.UploadRequest{URL: f.RemoteName, Options: opts, Size: st.Size(), Name: filepath.Base(f.LocalName),
		Source: fh, SessionID: sess.SessionID, Offset: sess.Acked, FragmentSize: m.cfg.UploadFragmentSize}
	res, err := up.Upload(w.ctx, req, t)
	if w.ctx.Err() != nil || errors.Is(err, errStopped) {
		return stopped
	}
	if err == nil {
		return m.uploaded(w, e, res, st.Size())
	}
	var ce *changeError
	if errors.As(err, &ce) {
		return changedFailure(ce.why)
	}
	te := transfer.AsError(err)
	if te.Context == bits.ContextLocalFile && te.Code == bits.E_FAIL && te.Err != nil {
		return localFailure(te.Err)
	}
	m.log.Info("upload failed", "job", e.id, "code", te.Code.Name(), "context", te.Context, "transient", te.Transient, "cause", redact(te.Err))
	return &failure{err: &bits.JobError{Context: te.Context, Code: te.Code, Protocol: "http"}, transient: te.Transient}
}

func (m *Manager) liveOf(e *entry, idx int) *live {
	m.mu.Lock()
	defer m.mu.Unlock()
	return e.live[idx]
}

// uploaded records the last Ack: the file is on the server.
func (m *Manager) uploaded(w *worker, e *entry, res transfer.UploadResult, size int64) *failure {
	err := m.commit(e, func(c *change) error {
		if !c.e.current(w) {
			return errStale
		}
		u := c.job.Upload
		u.SessionID, u.Acked, u.UploadDone, u.ReplyURL = res.SessionID, size, true, res.ReplyURL
		file := &c.job.Files[0]
		file.BytesTotal, file.BytesTransferred = size, size
		file.Transferred = true
		c.touch()
		c.event(EventFileTransferred, 0)
		return nil
	})
	if err != nil {
		return localFailure(err)
	}
	if w.ctx.Err() != nil {
		return stopped
	}
	return nil
}

// uploadTarget is transfer.UploadTarget over the job's session record.
type uploadTarget struct {
	m     *Manager
	e     *entry
	w     *worker
	path  string
	ident bits.UploadSession // the file's size and time when the session began
	live  *live
	acked int64
}

// ack commits a change of the session record while the worker holds its slot.
func (t *uploadTarget) ack(edit func(c *change)) error {
	err := t.m.commit(t.e, func(c *change) error {
		if !c.e.current(t.w) {
			return errStopped
		}
		edit(c)
		if c.job.State == bits.StateConnecting {
			if err := c.to(bits.StateTransferring); err != nil {
				return err
			}
			c.event(EventModified, -1)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopped) {
		return &transfer.Error{Code: bits.CodeOf(err), Context: bits.ContextLocalFile, Err: err}
	}
	return err
}

func (t *uploadTarget) Session(id string) error {
	err := t.ack(func(c *change) {
		c.job.Upload.SessionID, c.job.Upload.Acked = id, 0
		c.job.Files[0].BytesTransferred = 0
	})
	if err == nil {
		t.acked = 0
		t.live.n.Store(0)
		t.m.log.Info("upload session created", "job", t.e.id, "session", id)
	}
	return err
}

func (t *uploadTarget) Check() error {
	st, err := os.Stat(t.path)
	if err != nil {
		return &transfer.Error{Code: bits.E_FAIL, Context: bits.ContextLocalFile, Err: err}
	}
	if why := fileChange(st, t.ident); why != "" {
		return &changeError{why}
	}
	return nil
}

func (t *uploadTarget) Sent(off int64) {
	t.live.n.Store(off)
}

func (t *uploadTarget) Acked(off int64) error {
	err := t.ack(func(c *change) {
		if off > t.acked {
			c.job.NoProgressSince = timeZero
		}
		c.job.Upload.Acked = off
		c.job.Files[0].BytesTransferred = off
		c.touch() // progress resets the inactivity clock
		c.event(EventModified, -1)
	})
	if err == nil {
		t.acked = off
	}
	return err
}

// closeSession sends Close-Session: the server may only move the file into
// place now (IIS does), so it must succeed before the job is TRANSFERRED.
func (m *Manager) closeSession(w *worker, e *entry, opts transfer.Options, up transfer.Uploader) *failure {
	m.mu.Lock()
	req := transfer.UploadRequest{URL: e.job.Files[0].RemoteName, Options: opts, SessionID: e.job.Upload.SessionID}
	m.mu.Unlock()
	err := up.CloseSession(w.ctx, req)
	if w.ctx.Err() != nil {
		return stopped
	}
	if err != nil {
		te := transfer.AsError(err)
		m.log.Info("Close-Session failed", "job", e.id, "code", te.Code.Name(), "transient", te.Transient, "cause", redact(te.Err))
		return &failure{err: &bits.JobError{Context: te.Context, Code: te.Code, Protocol: "http"}, transient: te.Transient}
	}
	if err := m.commit(e, func(c *change) error {
		if !c.e.current(w) {
			return errStale
		}
		c.job.Upload.Closed = true
		return nil
	}); err != nil {
		return localFailure(err)
	}
	return nil
}

// cancelSession is Cancel's part for upload jobs (j is the record before
// CANCELLED): Cancel-Session is sent in the background, retried with
// growing pauses for a while (BITS retries for up to a day): Cancel itself
// never waits for the network.
func (m *Manager) cancelSession(j *bits.Job) {
	u := j.Upload
	if j.Type == bits.TypeDownload || u == nil || u.SessionID == "" || u.Closed || len(j.Files) == 0 {
		return
	}
	up, isUp := m.driverFor(j.Files[0].RemoteName).(transfer.Uploader)
	if !isUp {
		return
	}
	m.mu.Lock()
	o := transfer.Options{Proxy: j.Proxy, CustomHeaders: j.CustomHeaders, Credentials: append([]bits.Credential(nil), j.Credentials...),
		SecurityFlags: j.SecurityFlags, ClientCert: j.ClientCert}
	m.mu.Unlock()
	req := transfer.UploadRequest{URL: j.Files[0].RemoteName, Options: o, SessionID: u.SessionID}
	id := j.ID
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(m.life, cancelSessionWindow)
		defer cancel()
		pause := transfer.Backoff{Initial: time.Second, Max: time.Minute}
		for {
			err := up.CancelSession(ctx, req)
			if err == nil {
				m.log.Info("upload session cancelled on the server", "job", id)
				return
			}
			te := transfer.AsError(err)
			if !te.Transient && te.Code.HTTPStatus() < 500 {
				// [MC-BUP]: no retry on 1xx–4xx.
				m.log.Info("Cancel-Session refused", "job", id, "code", te.Code.Name())
				return
			}
			if pause.Wait(ctx) != nil {
				m.log.Info("gave up sending Cancel-Session", "job", id, "code", te.Code.Name())
				return
			}
		}
	}()
}

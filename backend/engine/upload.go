package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"ferry/backend/bits"
	"ferry/backend/transfer"
)

// cancelSessionWindow bounds how long a cancelled upload keeps sending
// Cancel-Session (BITS: up to 24 h; Ferry: while the engine runs, this long).
const cancelSessionWindow = 10 * time.Minute

// errStopped: the worker lost its slot while the driver was talking.
var errStopped = errors.New("transfer stopped")

// ReplyProgress is BG_JOB_REPLY_PROGRESS; BytesTotal is -1 until the reply
// transfer begins.
type ReplyProgress struct {
	BytesTotal       int64 `json:"bytesTotal"`
	BytesTransferred int64 `json:"bytesTransferred"`
}

// transferOptions are a job's per-request settings for the drivers (caller
// holds mu). idx >= 0 lets the ALLOW_REPORT/DISALLOW redirect policies
// rewrite that file's remote name.
func (m *Manager) transferOptions(e *entry, w *worker, idx int) transfer.Options {
	j := e.job
	o := transfer.Options{Proxy: j.Proxy, CustomHeaders: j.CustomHeaders, Dynamic: j.Dynamic,
		Credentials: append([]bits.Credential(nil), j.Credentials...), Method: j.HTTPMethod, SecurityFlags: j.SecurityFlags}
	if j.ClientCert != nil {
		c := *j.ClientCert
		o.ClientCert = &c
	}
	if idx >= 0 {
		o.OnRedirect = func(final string) { m.redirected(e, w, idx, final) }
	}
	return o
}

// redirected records the final URL of a redirected download (BITS'
// ALLOW_REPORT, and DISALLOW's refused target) as the file's remote name.
func (m *Manager) redirected(e *entry, w *worker, idx int, final string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !e.current(w) || idx >= len(e.job.Files) || len(final) > bits.MaxRemoteURL {
		return
	}
	f := &e.job.Files[idx]
	if f.RemoteName == final {
		return
	}
	m.log.Info("remote name rewritten by the redirect policy", "job", e.job.ID, "file", idx, "url", redactURL(final))
	f.RemoteName = final
	e.job.ModificationTime = m.clk.Now()
	m.persistFile(e, idx)
	m.emit(e, EventModified, -1)
}

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

// runUpload runs an UPLOAD or UPLOAD_REPLY job (bits-reference §14): the
// file goes up over the BITS upload protocol, the reply comes down
// (upload-reply), Close-Session releases the server's session, and the job
// is TRANSFERRED. The same failure rules as downloads apply.
func (m *Manager) runUpload(e *entry, w *worker) {
	m.mu.Lock()
	if !e.current(w) {
		m.mu.Unlock()
		return
	}
	j := e.job
	if len(j.Files) != 1 {
		m.workerFailed(e, w, &bits.JobError{Context: bits.ContextGeneralQueueManager, Code: bits.BG_E_TOO_MANY_FILES, FileIndex: -1,
			Description: fmt.Sprintf("An %s job holds exactly one file; this one has %d.", j.Type, len(j.Files))}, false)
		m.mu.Unlock()
		return
	}
	if j.Upload == nil {
		j.Upload = &bits.UploadSession{ReplyTotal: bits.SizeUnknown}
	}
	f, sess, typ, prio := j.Files[0], *j.Upload, j.Type, j.Priority
	opts := m.transferOptions(e, w, -1)
	m.mu.Unlock()

	up, ok := m.driverFor(f.RemoteName).(transfer.Uploader)
	if !ok {
		m.uploadFailed(e, w, &failure{err: &bits.JobError{Context: bits.ContextRemoteFile, Code: bits.E_INVALIDARG,
			Description: "No transfer driver speaks the BITS upload protocol for this remote name."}})
		return
	}
	steps := []func() *failure{
		func() *failure {
			if f.Transferred {
				return nil
			}
			return m.uploadFile(w, e, f, prio, opts, up)
		},
		func() *failure {
			if typ != bits.TypeUploadReply || sess.ReplyDone {
				return nil
			}
			return m.fetchReply(w, e, opts, prio)
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
	m.mu.Lock()
	if e.current(w) {
		m.finish(e, w)
	}
	m.mu.Unlock()
}

// uploadFailed ends the slot with a failure (a stop is not one).
func (m *Manager) uploadFailed(e *entry, w *worker, fail *failure) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !e.current(w) || fail.err == nil {
		return
	}
	fail.err.FileIndex = 0
	if len(e.job.Files) > 0 && len(e.durable) > 0 {
		e.job.Files[0].BytesTransferred = e.durable[0] // in-flight bytes were not acknowledged
	}
	m.workerFailed(e, w, fail.err, fail.transient)
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
func (m *Manager) uploadFile(w *worker, e *entry, f bits.File, prio bits.JobPriority, opts transfer.Options, up transfer.Uploader) *failure {
	fh, err := os.Open(f.LocalName)
	if err != nil {
		return localFailure(err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return localFailure(err)
	}
	m.mu.Lock()
	if !e.current(w) {
		m.mu.Unlock()
		return stopped
	}
	u := e.job.Upload
	if u.SessionID != "" || !u.FileModTime.IsZero() {
		if why := fileChange(st, *u); why != "" {
			m.mu.Unlock()
			return changedFailure(why)
		}
	} else {
		u.FileSize, u.FileModTime = st.Size(), st.ModTime()
	}
	e.job.Files[0].BytesTotal = st.Size()
	m.persistJob(e)
	sess := *u
	m.mu.Unlock()

	t := &uploadTarget{m: m, e: e, w: w, path: f.LocalName, ident: sess, sid: sess.SessionID, acked: sess.Acked}
	req := transfer.UploadRequest{URL: f.RemoteName, Options: opts, Size: st.Size(), Name: filepath.Base(f.LocalName),
		Source: &throttledFile{f: fh, m: m, ctx: w.ctx, prio: prio}}
	for quick := 0; ; quick++ {
		req.SessionID, req.Offset = t.sid, t.acked
		t.progressed = false
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
		// A dropped connection after progress is retried at once a few
		// times before it counts as a transient error, as for downloads.
		if te.Transient && t.progressed && quick < 3 {
			continue
		}
		m.log.Info("upload failed", "job", e.job.ID, "code", te.Code.Name(), "context", te.Context, "transient", te.Transient, "cause", redact(te.Err))
		return &failure{err: &bits.JobError{Context: te.Context, Code: te.Code, Protocol: "http"}, transient: te.Transient}
	}
}

// uploaded records the last Ack: the file is on the server.
func (m *Manager) uploaded(w *worker, e *entry, res transfer.UploadResult, size int64) *failure {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !e.current(w) {
		return stopped
	}
	u := e.job.Upload
	u.SessionID, u.Acked, u.UploadDone, u.ReplyURL = res.SessionID, size, true, res.ReplyURL
	file := &e.job.Files[0]
	file.BytesTotal, file.BytesTransferred, e.durable[0] = size, size, size
	file.Transferred = true
	e.job.ModificationTime = m.clk.Now()
	m.persistJob(e)
	m.emit(e, EventFileTransferred, 0)
	return nil
}

// uploadTarget is transfer.UploadTarget over the job's session record.
type uploadTarget struct {
	m          *Manager
	e          *entry
	w          *worker
	path       string
	ident      bits.UploadSession // the file's size and time when the session began
	sid        string
	acked      int64
	progressed bool
}

func (t *uploadTarget) Session(id string) error {
	m, e := t.m, t.e
	m.mu.Lock()
	defer m.mu.Unlock()
	if !e.current(t.w) {
		return errStopped
	}
	u := e.job.Upload
	u.SessionID, u.Acked = id, 0
	e.job.Files[0].BytesTransferred, e.durable[0] = 0, 0
	t.sid, t.acked = id, 0
	m.toTransferring(e)
	m.persistJob(e)
	m.log.Info("upload session created", "job", e.job.ID, "session", id)
	return nil
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
	t.m.progress(t.e, t.w, 0, off)
}

func (t *uploadTarget) Acked(off int64) error {
	m, e := t.m, t.e
	m.mu.Lock()
	defer m.mu.Unlock()
	if !e.current(t.w) {
		return errStopped
	}
	if off > t.acked {
		t.progressed = true
		e.job.NoProgressSince = timeZero
	}
	t.acked = off
	u := e.job.Upload
	u.Acked = off
	e.job.Files[0].BytesTransferred, e.durable[0] = off, off
	e.job.ModificationTime = m.clk.Now() // progress resets the inactivity clock
	m.toTransferring(e)
	m.persistJob(e)
	return nil
}

// toTransferring marks a connected job TRANSFERRING (caller holds mu).
func (m *Manager) toTransferring(e *entry) {
	if e.job.State == bits.StateConnecting {
		m.setState(e, bits.StateTransferring)
		m.persistRow(e)
		m.emit(e, EventModified, -1)
		e.lastEmit = m.clk.Now()
	}
}

// throttledFile reads the file to upload under the job's bandwidth cap.
type throttledFile struct {
	f    *os.File
	m    *Manager
	ctx  context.Context
	prio bits.JobPriority
}

func (t *throttledFile) ReadAt(p []byte, off int64) (int, error) {
	if err := t.m.bw.wait(t.ctx, t.prio, len(p)); err != nil {
		return 0, err
	}
	return t.f.ReadAt(p, off)
}

// fetchReply downloads an upload-reply job's reply into a temporary file
// next to the reply file; Complete renames it into place.
func (m *Manager) fetchReply(w *worker, e *entry, opts transfer.Options, prio bits.JobPriority) *failure {
	m.mu.Lock()
	if !e.current(w) {
		m.mu.Unlock()
		return stopped
	}
	j := e.job
	if j.ReplyFileName == "" {
		// BITS names the reply itself, in the upload file's directory.
		local := j.Files[0].LocalName
		j.ReplyFileName = filepath.Join(filepath.Dir(local), filepath.Base(local)+"."+j.ID[:8]+".reply")
		m.persistRow(e)
	}
	u := j.Upload
	replyURL, temp, dir := u.ReplyURL, u.ReplyTemp, filepath.Dir(j.ReplyFileName)
	m.mu.Unlock()

	fh, err := m.openReplyTemp(e, w, temp, dir)
	if err != nil {
		if errors.Is(err, errStopped) {
			return stopped
		}
		return localFailure(err)
	}
	defer fh.Close()
	t := &replyTarget{m: m, e: e, w: w, f: fh, prio: prio}
	if err := t.Reset(); err != nil {
		return localFailure(err)
	}
	if replyURL != "" {
		drv := m.driverFor(replyURL)
		if drv == nil {
			return &failure{err: &bits.JobError{Context: bits.ContextRemoteFile, Code: bits.BG_E_INVALID_SERVER_RESPONSE,
				Description: "The server's reply URL is not an http(s) URL."}}
		}
		ro := opts
		ro.Dynamic, ro.Method, ro.OnRedirect = true, "", nil // the reply is fetched with a plain GET
		err := drv.Download(w.ctx, transfer.Request{URL: replyURL, Options: ro}, t)
		if w.ctx.Err() != nil {
			return stopped
		}
		if t.err != nil {
			return localFailure(t.err)
		}
		if err != nil {
			te := transfer.AsError(err)
			m.log.Info("reply download failed", "job", e.job.ID, "code", te.Code.Name(), "transient", te.Transient, "cause", redact(te.Err))
			return &failure{err: &bits.JobError{Context: te.Context, Code: te.Code, Protocol: "http"}, transient: te.Transient}
		}
	}
	if err := fh.Sync(); err != nil {
		return localFailure(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !e.current(w) {
		return stopped
	}
	u = e.job.Upload
	u.ReplyTotal, u.ReplyTransferred, u.ReplyDone = t.n, t.n, true
	m.persistRow(e)
	return nil
}

// openReplyTemp opens (creating it, its name recorded first) the reply's
// hidden temporary file.
func (m *Manager) openReplyTemp(e *entry, w *worker, temp, dir string) (*os.File, error) {
	if temp != "" {
		fh, err := os.OpenFile(temp, os.O_RDWR, 0)
		if err == nil {
			return fh, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	for range 10 {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		name := filepath.Join(dir, ".BIT"+strings.ToUpper(hex.EncodeToString(b[:]))+".tmp")
		m.mu.Lock()
		if !e.current(w) {
			m.mu.Unlock()
			return nil, errStopped
		}
		e.job.Upload.ReplyTemp = name
		m.persistRow(e)
		m.mu.Unlock()
		fh, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return fh, err
	}
	return nil, errors.New("could not find a free temporary file name")
}

// replyTarget is transfer.Target over the reply's temporary file.
type replyTarget struct {
	m    *Manager
	e    *entry
	w    *worker
	f    *os.File
	prio bits.JobPriority
	n    int64
	err  error
}

func (t *replyTarget) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, &localError{t.err}
	}
	if err := t.m.bw.wait(t.w.ctx, t.prio, len(p)); err != nil {
		return 0, err
	}
	n, err := t.f.Write(p)
	t.n += int64(n)
	if err != nil {
		t.err = err
		return n, &localError{err}
	}
	m, e := t.m, t.e
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.current(t.w) {
		u := e.job.Upload
		u.ReplyTransferred = t.n
		if u.ReplyTotal < t.n {
			u.ReplyTotal = t.n
		}
		e.job.NoProgressSince = timeZero
		if now := m.clk.Now(); now.Sub(e.lastEmit) >= m.cfg.ProgressInterval {
			e.lastEmit = now
			m.emit(e, EventModified, -1)
		}
	}
	return n, nil
}

func (t *replyTarget) Reset() error {
	if err := t.f.Truncate(0); err != nil {
		t.err = err
		return &localError{err}
	}
	if _, err := t.f.Seek(0, io.SeekStart); err != nil {
		t.err = err
		return &localError{err}
	}
	t.n = 0
	return nil
}

// Sized starts the reply half: BytesTotal stops being unknown.
func (t *replyTarget) Sized(v bits.Validator) error {
	m, e := t.m, t.e
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.current(t.w) {
		u := e.job.Upload
		u.ReplyTotal, u.ReplyTransferred = max(v.Size, 0), 0
		m.toTransferring(e)
		m.persistRow(e)
	}
	return nil
}

// closeSession sends Close-Session: the server may only move the file into
// place now (IIS does), so it must succeed before the job is TRANSFERRED.
func (m *Manager) closeSession(w *worker, e *entry, opts transfer.Options, up transfer.Uploader) *failure {
	m.mu.Lock()
	if !e.current(w) {
		m.mu.Unlock()
		return stopped
	}
	req := transfer.UploadRequest{URL: e.job.Files[0].RemoteName, Options: opts, SessionID: e.job.Upload.SessionID}
	m.mu.Unlock()
	err := up.CloseSession(w.ctx, req)
	if w.ctx.Err() != nil {
		return stopped
	}
	if err != nil {
		te := transfer.AsError(err)
		m.log.Info("Close-Session failed", "job", e.job.ID, "code", te.Code.Name(), "transient", te.Transient, "cause", redact(te.Err))
		return &failure{err: &bits.JobError{Context: te.Context, Code: te.Code, Protocol: "http"}, transient: te.Transient}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !e.current(w) {
		return stopped
	}
	e.job.Upload.Closed = true
	m.persistRow(e)
	return nil
}

// cancelUpload is Cancel's part for upload jobs (caller holds mu, the worker
// stopped): the reply's temporary file goes, and Cancel-Session is sent in
// the background, retried with growing pauses for a while (BITS retries for
// up to a day): Cancel itself never waits for the network.
func (m *Manager) cancelUpload(e *entry) bool {
	j := e.job
	u := j.Upload
	if j.Type == bits.TypeDownload || u == nil {
		return true
	}
	ok := true
	if u.ReplyTemp != "" {
		if err := os.Remove(u.ReplyTemp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			m.log.Warn("could not remove the reply's temporary file", "job", j.ID, "err", err)
			ok = false
		} else {
			u.ReplyTemp = ""
		}
	}
	if u.SessionID == "" || u.Closed || len(j.Files) == 0 {
		return ok
	}
	up, isUp := m.driverFor(j.Files[0].RemoteName).(transfer.Uploader)
	if !isUp {
		return ok
	}
	req := transfer.UploadRequest{URL: j.Files[0].RemoteName, Options: m.transferOptions(e, nil, -1), SessionID: u.SessionID}
	id := j.ID
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(m.life, cancelSessionWindow)
		defer cancel()
		for delay := time.Second; ; delay = min(2*delay, time.Minute) {
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
			select {
			case <-ctx.Done():
				m.log.Info("gave up sending Cancel-Session", "job", id, "code", te.Code.Name())
				return
			case <-time.After(delay):
			}
		}
	}()
	return ok
}

// replyPath is where an upload-reply job's reply is now: its temporary
// file until Complete, then the reply file ("" when there is none).
func replyPath(j *bits.Job) string {
	if j.Upload != nil && j.Upload.ReplyTemp != "" {
		return j.Upload.ReplyTemp
	}
	if j.Upload == nil || !j.Upload.ReplyDone {
		return ""
	}
	return j.ReplyFileName
}

// commitReply moves the reply onto the reply file (Complete, caller holds mu).
func (m *Manager) commitReply(e *entry) error {
	j := e.job
	u := j.Upload
	if j.Type != bits.TypeUploadReply || u == nil || u.ReplyTemp == "" {
		return nil
	}
	if err := moveFile(u.ReplyTemp, j.ReplyFileName); err != nil {
		return bits.Errorf(bits.E_ACCESSDENIED, "could not move the reply into %s: %v; the job stays %s, retry Complete or Cancel", j.ReplyFileName, err, j.State)
	}
	u.ReplyTemp = ""
	return nil
}

// moveFile renames, or copies when the reply file is on another file system.
func moveFile(from, to string) error {
	err := os.Rename(from, to)
	if errors.Is(err, syscall.EXDEV) {
		err = copyFile(from, to)
		if err == nil {
			_ = os.Remove(from)
		}
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(to))
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, cerr := io.Copy(out, in)
	return errors.Join(cerr, out.Sync(), out.Close())
}

// GetReplyProgress is IBackgroundCopyJob2::GetReplyProgress.
func (m *Manager) GetReplyProgress(ref string) (ReplyProgress, error) {
	j, err := m.GetJob(ref)
	if err != nil {
		return ReplyProgress{}, err
	}
	if j.Type != bits.TypeUploadReply {
		return ReplyProgress{}, bits.Errorf(bits.E_NOTIMPL, "only UPLOAD_REPLY jobs have a reply; this one is %s", j.Type)
	}
	if j.Upload == nil {
		return ReplyProgress{BytesTotal: bits.SizeUnknown}, nil
	}
	return ReplyProgress{BytesTotal: j.Upload.ReplyTotal, BytesTransferred: j.Upload.ReplyTransferred}, nil
}

package engine

import (
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"

	"ferry/backend/bits"
	"ferry/backend/internal/durable"
	"ferry/backend/transfer"
)

// ReplyProgress is BG_JOB_REPLY_PROGRESS; BytesTotal is -1 until the reply
// transfer begins.
type ReplyProgress struct {
	BytesTotal       int64 `json:"bytesTotal"`
	BytesTransferred int64 `json:"bytesTransferred"`
}

// fetchReply downloads an upload-reply job's reply into a temporary file
// next to the reply file; Complete renames it into place.
func (m *Manager) fetchReply(w *worker, e *entry, opts transfer.Options, prio bits.JobPriority) *failure {
	var replyURL, temp, dir string
	err := m.commit(e, func(c *change) error {
		if !c.e.current(w) {
			return errStale
		}
		j := c.job
		if j.ReplyFileName == "" {
			// BITS names the reply itself, in the upload file's directory.
			local := j.Files[0].LocalName
			j.ReplyFileName = filepath.Join(filepath.Dir(local), filepath.Base(local)+"."+j.ID[:8]+".reply")
		} else {
			c.noop = true
		}
		replyURL, temp, dir = j.Upload.ReplyURL, j.Upload.ReplyTemp, filepath.Dir(j.ReplyFileName)
		return nil
	})
	if err != nil {
		return localFailure(err)
	}
	if dir == "" {
		return stopped
	}
	fh, err := m.openReplyTemp(e, w, temp, dir)
	if err != nil {
		if errors.Is(err, errStopped) {
			return stopped
		}
		return localFailure(err)
	}
	defer fh.Close()
	t := &replyTarget{m: m, e: e, w: w, f: fh}
	if err := t.Reset(); err != nil {
		return localFailure(err)
	}
	if replyURL != "" {
		// The server names this URL: only http(s) is fetched. The file
		// driver would copy any local file the user can read into the
		// reply file.
		var drv transfer.Driver
		if u, err := url.Parse(replyURL); err == nil && (strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https")) {
			drv = m.decorated(replyURL, prio)
		}
		if drv == nil {
			return &failure{err: &bits.JobError{Context: bits.ContextRemoteFile, Code: bits.BG_E_INVALID_SERVER_RESPONSE,
				Description: "The server's reply URL is not an http(s) URL."}}
		}
		ro := opts
		ro.Dynamic, ro.Method, ro.OnRedirect = true, "", nil // the reply is fetched with a plain GET
		ro.Yield = w.yield                                   // a download like any other: it yields as the job does
		err := drv.Download(w.ctx, transfer.Request{URL: replyURL, Options: ro}, t)
		if w.ctx.Err() != nil {
			return stopped
		}
		if t.err != nil {
			return localFailure(t.err)
		}
		if err != nil {
			te := transfer.AsError(err)
			m.log.Info("reply download failed", "job", e.id, "code", te.Code.Name(), "transient", te.Transient, "cause", redact(te.Err))
			return &failure{err: &bits.JobError{Context: te.Context, Code: te.Code, Protocol: "http"}, transient: te.Transient}
		}
	}
	if err := fh.Sync(); err != nil {
		return localFailure(err)
	}
	n := t.n.Load()
	if err := m.commit(e, func(c *change) error {
		if !c.e.current(w) {
			return errStale
		}
		u := c.job.Upload
		u.ReplyTotal, u.ReplyTransferred, u.ReplyDone = n, n, true
		return nil
	}); err != nil {
		return localFailure(err)
	}
	return nil
}

// openReplyTemp creates the reply's hidden temporary file, its name
// recorded first. The reply is fetched whole on every run, so an earlier
// run's file is never reopened: its name is removed (a link goes, never
// what it leads to) and a new file made with O_EXCL, which follows no link.
func (m *Manager) openReplyTemp(e *entry, w *worker, temp, dir string) (*os.File, error) {
	if temp != "" {
		if err := os.Remove(temp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	for range 10 {
		name, err := tempName(dir)
		if err != nil {
			return nil, err
		}
		err = m.commit(e, func(c *change) error {
			if !c.e.current(w) {
				return errStopped
			}
			c.job.Upload.ReplyTemp = name
			return nil
		})
		if err != nil {
			return nil, err
		}
		fh, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err == nil {
			_ = hideFile(name)
		}
		return fh, err
	}
	return nil, errors.New("could not find a free temporary file name")
}

// replyTarget is transfer.Target over the reply's temporary file; its
// progress is live until the reply is recorded whole.
type replyTarget struct {
	m   *Manager
	e   *entry
	w   *worker
	f   *os.File
	n   atomic.Int64
	err error
}

func (t *replyTarget) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, &localError{t.err}
	}
	n, err := t.f.Write(p)
	t.e.replyLive.Store(t.n.Add(int64(n)))
	if err != nil {
		t.err = err
		return n, &localError{err}
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
	t.n.Store(0)
	t.e.replyLive.Store(0)
	return nil
}

// Sized starts the reply half: BytesTotal stops being unknown.
func (t *replyTarget) Sized(v bits.Validator) error {
	err := t.m.commit(t.e, func(c *change) error {
		if !c.e.current(t.w) {
			return errStale
		}
		u := c.job.Upload
		u.ReplyTotal, u.ReplyTransferred = max(v.Size, 0), 0
		if c.job.State == bits.StateConnecting {
			if err := c.to(bits.StateTransferring); err != nil {
				return err
			}
			c.event(EventModified, -1)
		}
		return nil
	})
	if err != nil {
		t.err = err
		return &localError{err}
	}
	return nil
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

// commitReply moves the reply onto the reply file (Complete; j is the held
// job's record, nothing is locked).
func (m *Manager) commitReply(j *bits.Job) error {
	u := j.Upload
	if j.Type != bits.TypeUploadReply || u == nil || u.ReplyTemp == "" {
		return nil
	}
	if err := checkReplaceable(j.ReplyFileName); err != nil {
		return err
	}
	if err := moveFile(u.ReplyTemp, j.ReplyFileName); err != nil {
		return bits.Errorf(bits.E_ACCESSDENIED, "could not move the reply into %s: %v; the job stays %s, retry Complete or Cancel", j.ReplyFileName, err, j.State)
	}
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
	return durable.SyncDir(filepath.Dir(to))
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
	p := ReplyProgress{BytesTotal: j.Upload.ReplyTotal, BytesTransferred: j.Upload.ReplyTransferred}
	if !j.Upload.ReplyDone && j.Upload.ReplyTotal >= 0 {
		if e, err := m.find(ref); err == nil {
			p.BytesTransferred = max(p.BytesTransferred, e.replyLive.Load())
			p.BytesTotal = max(p.BytesTotal, p.BytesTransferred)
		}
	}
	return p, nil
}

package uploadserver

// Storing a finished upload in Dir and making and serving its reply.

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"

	"ferry/backend/bits"
	"ferry/backend/internal/durable"
)

// Upload describes a stored upload to a ReplyFunc.
type Upload struct {
	SessionID   string
	Name        string // below Config.Dir, slash-separated
	Path        string // absolute path of the stored file
	Size        int64
	SHA256      string // hexadecimal
	ContentName string // the client's Content-Name (its local file name)
	Request     *http.Request
}

// ReplyFunc makes the reply to an upload: its body and content type. An
// *AppError chooses the status and BITS error code the client sees (context
// REMOTE_APPLICATION); any other error answers 500 with E_FAIL. After a
// failure the client sends the last fragment again, which retries the reply.
type ReplyFunc func(ctx context.Context, u Upload) (body []byte, contentType string, err error)

// AppError is a failure of the back-end application.
type AppError struct {
	Status int          // HTTP status (default 500)
	Code   bits.HRESULT // BITS-Error-Code (default E_FAIL)
	Err    error
}

func (e *AppError) Error() string {
	return fmt.Sprintf("application error %s (HTTP %d): %v", e.Code.Hex(), e.Status, e.Err)
}

func (e *AppError) Unwrap() error { return e.Err }

// DefaultReply answers with a small JSON document: the stored name, size
// and SHA-256, and the session id.
func DefaultReply(_ context.Context, u Upload) ([]byte, string, error) {
	b, err := json.Marshal(map[string]any{"name": u.Name, "size": u.Size, "sha256": u.SHA256, "sessionId": u.SessionID})
	return append(b, '\n'), "application/json", err
}

// commit stores a complete upload in Dir (once) and makes its reply (once
// it succeeds). The file moves atomically: the fsynced part file becomes
// the target by a hard link (never over an existing file unless
// AllowOverwrite) or a rename, then the directory is fsynced.
func (s *Server) commit(sess *session) error {
	m := &sess.meta
	part := StateDirName + "/" + sess.key + ".part"
	if !m.Committed {
		var sum string
		if sess.hash != nil {
			sum = hex.EncodeToString(sess.hash.Sum(nil))
		} else {
			var err error
			if sum, err = fileSHA256(s.state, sess.key+".part"); err != nil {
				return err
			}
		}
		if dir := path.Dir(m.Name); dir != "." {
			if err := s.root.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		if s.beforePlace != nil {
			s.beforePlace(sess.key)
		}
		if err := s.place(part, m.Name); err != nil {
			return err
		}
		if err := durable.SyncDirIn(s.root, path.Dir(m.Name)); err != nil {
			return err
		}
		m.Committed, m.SHA256 = true, sum
		if err := s.saveMeta(sess); err != nil {
			return err
		}
		_ = s.state.Remove(sess.key + ".part")
		s.log.Info("upload stored", "session", m.ID, "name", m.Name, "size", m.Total, "sha256", sum)
	}
	if s.cfg.NoReply || m.ReplyType != "" {
		return nil
	}
	abs, err := absPath(s.cfg.Dir, m.Name)
	if err != nil {
		return err
	}
	body, ctype, err := s.cfg.Reply(context.Background(), Upload{SessionID: m.ID, Name: m.Name, Path: abs,
		Size: m.Total, SHA256: m.SHA256, ContentName: m.ContentName})
	if err != nil {
		return appError(err)
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	if err := durable.WriteFileIn(s.state, sess.key+".reply", body, 0o600); err != nil {
		return err
	}
	m.ReplyType = ctype
	return s.saveMeta(sess)
}

// appError is the *AppError a ReplyFunc's error answers with.
func appError(err error) *AppError {
	ae := &AppError{Status: http.StatusInternalServerError, Code: bits.E_FAIL, Err: err}
	if errors.As(err, &ae) {
		if ae.Status < 400 {
			ae.Status = http.StatusInternalServerError
		}
		if !ae.Code.Failed() {
			ae.Code = bits.E_FAIL
		}
	}
	return ae
}

// place moves the part file onto name inside Dir.
func (s *Server) place(part, name string) error {
	if s.cfg.AllowOverwrite {
		return s.root.Rename(part, name)
	}
	err := s.root.Link(part, name)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		pst, perr := s.root.Stat(part)
		tst, terr := s.root.Stat(name)
		if perr == nil && terr == nil && os.SameFile(pst, tst) {
			return nil // linked before a crash
		}
		return err
	}
	// No hard links here (some file systems): check, then rename.
	if _, serr := s.root.Lstat(name); serr == nil {
		return fs.ErrExist
	}
	return s.root.Rename(part, name)
}

func absPath(dir, name string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(d, filepath.FromSlash(name)), nil
}

// replyURL is the absolute URL of a session's reply: next to the upload's
// own URL as the client sent it (so a handler mounted below a prefix works).
func replyURL(r *http.Request, key string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	p := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		p = u.Path // before any http.StripPrefix
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: path.Join(path.Dir(p), replySegment, key)}
	return u.String()
}

// isReplyPath reports ".../.bits-reply/KEY".
func isReplyPath(p string) bool {
	dir, key := path.Split(p)
	return path.Base(dir) == replySegment && validKey(key)
}

func (s *Server) serveReply(w http.ResponseWriter, r *http.Request) {
	key := path.Base(r.URL.Path)
	if s.fleet != nil {
		s.fleet.serveReply(w, r, key)
		return
	}
	s.mu.Lock()
	sess := s.sessions[key]
	s.mu.Unlock()
	if sess == nil {
		http.NotFound(w, r)
		return
	}
	sess.mu.Lock()
	ctype, gone := sess.meta.ReplyType, sess.gone
	var f *os.File
	var err error
	if ctype != "" && !gone {
		f, err = s.state.Open(key + ".reply")
	}
	sess.mu.Unlock()
	if ctype == "" || gone || err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, "reply unreadable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	http.ServeContent(w, r, "", st.ModTime(), f)
}

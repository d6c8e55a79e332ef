// Package uploadserver is the server side of the BITS upload protocol
// (bits-reference §14, [MC-BUP]): an http.Handler that accepts BITS_POST
// packets (Ping, Create-Session, Fragment, Close-Session, Cancel-Session),
// keeps its sessions on disk so that they survive a restart, and stores each
// finished upload atomically under a safe name inside one directory. It can
// answer upload-reply jobs with a reply document.
package uploadserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	"ferry/backend/bits"
)

// Protocol is the GUID of the BITS 1.5 upload protocol, the only one.
const Protocol = "{7df0354d-249b-430f-820d-3d2a9bef4931}"

// Method is the verb of every upload packet.
const Method = "BITS_POST"

// Defaults of Config.
const (
	DefaultMaxSessions    = 50                  // IIS' BITSNumberOfSessionsLimit
	DefaultSessionTimeout = 14 * 24 * time.Hour // IIS' BITSSessionTimeout
)

// StateDirName is the hidden directory below Config.Dir that holds the
// sessions; no upload can be named like it.
const StateDirName = ".bits-sessions"

// replySegment is the path segment of reply URLs.
const replySegment = ".bits-reply"

// maxDrain is how much of an unwanted body is read before answering, so the
// client sees the Ack rather than a reset connection.
const maxDrain = 32 << 20

// Config configures a Server.
type Config struct {
	// Dir receives the finished uploads; it is created if missing. The
	// sessions live in Dir/.bits-sessions.
	Dir string
	// MaxSize is the largest upload accepted, in bytes (0: no limit).
	MaxSize int64
	// MaxSessions is how many sessions may be open at once (0: DefaultMaxSessions).
	MaxSessions int
	// SessionTimeout expires a session with no packet for this long (0: 14 days).
	SessionTimeout time.Duration
	// AllowOverwrite lets an upload replace an existing file (IIS'
	// BITSAllowOverwrites); otherwise Create-Session answers 403.
	AllowOverwrite bool
	// Reply makes the reply of an upload, sent to the client as the
	// BITS-Reply-URL of the last fragment's Ack (nil: DefaultReply).
	Reply ReplyFunc
	// NoReply sends no BITS-Reply-URL at all (a plain upload server).
	NoReply bool
	// Logger receives one line per session event (nil: slog.Default()).
	Logger *slog.Logger
}

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

// Server implements the BITS upload protocol as an http.Handler.
type Server struct {
	cfg   Config
	root  *os.Root // Config.Dir: every file operation stays inside it
	state *os.Root // Dir/.bits-sessions
	log   *slog.Logger
	now   func() time.Time

	mu       sync.Mutex
	sessions map[string]*session // by session key (uuid, lower case, no braces)
}

type session struct {
	key  string
	mu   sync.Mutex // one packet of a session at a time
	meta sessionMeta
	gone bool // removed while a packet waited for mu
}

// sessionMeta is a session's record, Dir/.bits-sessions/KEY.json; the bytes
// received are in KEY.part, the reply in KEY.reply.
type sessionMeta struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ContentName string    `json:"contentName,omitempty"`
	Total       int64     `json:"total"`    // -1 until the first fragment
	Received    int64     `json:"received"` // fsynced in KEY.part
	Created     time.Time `json:"created"`
	Touched     time.Time `json:"touched"`
	Committed   bool      `json:"committed,omitempty"` // stored in Dir
	SHA256      string    `json:"sha256,omitempty"`
	ReplyType   string    `json:"replyType,omitempty"` // set once KEY.reply is complete
}

// New opens (creating it if needed) cfg.Dir and the sessions recorded in it.
func New(cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("uploadserver: no directory")
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.Reply == nil {
		cfg.Reply = DefaultReply
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("uploadserver: %w", err)
	}
	root, err := os.OpenRoot(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("uploadserver: %w", err)
	}
	if err := root.Mkdir(StateDirName, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		root.Close()
		return nil, fmt.Errorf("uploadserver: state directory: %w", err)
	}
	state, err := root.OpenRoot(StateDirName)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("uploadserver: state directory: %w", err)
	}
	s := &Server{cfg: cfg, root: root, state: state, log: cfg.Logger, now: time.Now, sessions: map[string]*session{}}
	if err := s.load(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the directory handles (the handler must no longer run).
func (s *Server) Close() error {
	s.state.Close()
	return s.root.Close()
}

// OpenSessions counts the sessions the server holds.
func (s *Server) OpenSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// load reads the recorded sessions and repairs what a crash left: a part
// file longer than its recorded length is cut back (only fsynced, recorded
// bytes were acknowledged), and files without a record are removed.
func (s *Server) load() error {
	entries, err := fs.ReadDir(s.state.FS(), ".")
	if err != nil {
		return fmt.Errorf("uploadserver: read sessions: %w", err)
	}
	known := map[string]bool{}
	for _, e := range entries {
		key, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !validKey(key) {
			continue
		}
		b, err := s.state.ReadFile(e.Name())
		var m sessionMeta
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil {
			s.log.Warn("dropping an unreadable upload session", "session", key, "err", err)
			continue
		}
		sess := &session{key: key, meta: m}
		if err := s.repair(sess); err != nil {
			s.log.Warn("dropping an upload session that cannot be repaired", "session", key, "err", err)
			continue
		}
		known[key] = true
		s.sessions[key] = sess
	}
	for _, e := range entries {
		base, _, _ := strings.Cut(e.Name(), ".")
		if !known[base] {
			_ = s.state.Remove(e.Name())
		}
	}
	s.sweep()
	if n := len(s.sessions); n > 0 {
		s.log.Info("upload sessions restored", "sessions", n)
	}
	return nil
}

// repair reconciles a loaded session with its files.
func (s *Server) repair(sess *session) error {
	m := &sess.meta
	st, err := s.state.Stat(sess.key + ".part")
	switch {
	case err == nil && st.Size() > m.Received:
		f, err := s.state.OpenFile(sess.key+".part", os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return errors.Join(f.Truncate(m.Received), f.Sync(), f.Close())
	case err == nil && st.Size() < m.Received:
		return fmt.Errorf("%d bytes recorded, %d on disk", m.Received, st.Size())
	case err == nil && !m.Committed && m.Total >= 0 && m.Received == m.Total:
		// A crash between storing the file and recording it: the stored
		// file is the part file itself (a hard link) when it got there.
		if tst, terr := s.root.Stat(m.Name); terr == nil && os.SameFile(st, tst) {
			return s.markCommitted(sess)
		}
	case errors.Is(err, fs.ErrNotExist) && m.Committed:
	case errors.Is(err, fs.ErrNotExist) && m.Total >= 0 && m.Received == m.Total:
		if _, terr := s.root.Stat(m.Name); terr == nil { // renamed into place, then the crash
			return s.markCommitted(sess)
		}
		return errors.New("the received bytes are gone")
	case err != nil:
		return err
	}
	return nil
}

func (s *Server) markCommitted(sess *session) error {
	sum, err := fileSHA256(s.root, sess.meta.Name)
	if err != nil {
		return err
	}
	sess.meta.Committed, sess.meta.SHA256 = true, sum
	_ = s.state.Remove(sess.key + ".part")
	return s.saveMeta(sess)
}

// sweep removes sessions idle for longer than the session timeout.
func (s *Server) sweep() {
	now := s.now()
	s.mu.Lock()
	var old []*session
	for _, sess := range s.sessions {
		if now.Sub(sess.meta.Touched) > s.cfg.SessionTimeout {
			old = append(old, sess)
		}
	}
	s.mu.Unlock()
	for _, sess := range old {
		sess.mu.Lock()
		if !sess.gone && now.Sub(sess.meta.Touched) > s.cfg.SessionTimeout {
			s.log.Info("upload session expired", "session", sess.meta.ID, "name", sess.meta.Name)
			s.remove(sess)
		}
		sess.mu.Unlock()
	}
}

// remove deletes a session, its record first (caller holds sess.mu).
func (s *Server) remove(sess *session) {
	s.mu.Lock()
	delete(s.sessions, sess.key)
	s.mu.Unlock()
	sess.gone = true
	for _, ext := range []string{".json", ".part", ".reply", ".json.tmp", ".reply.tmp"} {
		if err := s.state.Remove(sess.key + ext); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("could not remove a session file", "session", sess.meta.ID, "err", err)
		}
	}
	_ = syncDir(s.state, ".")
}

// saveMeta records a session atomically and durably.
func (s *Server) saveMeta(sess *session) error {
	b, err := json.Marshal(&sess.meta)
	if err != nil {
		return err
	}
	return writeAtomic(s.state, sess.key+".json", b)
}

// writeAtomic writes name through a temporary file: fsync, rename, fsync dir.
func writeAtomic(r *os.Root, name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = r.Remove(tmp)
		return err
	}
	if err := r.Rename(tmp, name); err != nil {
		return err
	}
	return syncDir(r, path.Dir(name))
}

func fileSHA256(r *os.Root, name string) (string, error) {
	f, err := r.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sessionKey normalises a BITS-Session-Id ("{GUID}") to a map key.
func sessionKey(id string) (string, bool) {
	k := strings.ToLower(strings.Trim(strings.TrimSpace(id), "{}"))
	return k, validKey(k)
}

func validKey(k string) bool {
	u, err := uuid.Parse(k)
	return err == nil && u.String() == k
}

// ServeHTTP implements http.Handler: BITS_POST packets on any path, and GET
// or HEAD of reply URLs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == Method:
		s.packet(w, r)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && isReplyPath(r.URL.Path):
		s.serveReply(w, r)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		http.NotFound(w, r)
	default:
		w.Header().Set("Allow", Method)
		http.Error(w, "only BITS_POST (the BITS upload protocol) is served here", http.StatusMethodNotAllowed)
	}
}

// reply writes an Ack: always BITS-Packet-Type and Content-Length.
func reply(w http.ResponseWriter, status int, sid string, hdr map[string]string) {
	h := w.Header()
	h.Set("BITS-Packet-Type", "Ack")
	h.Set("Content-Length", "0")
	if sid != "" {
		h.Set("BITS-Session-Id", sid)
	}
	for k, v := range hdr {
		h.Set(k, v)
	}
	w.WriteHeader(status)
}

// Error contexts of BITS-Error-Context.
const (
	contextServer      = 0x5 // the BITS server failed
	contextApplication = 0x7 // the back-end application failed
)

// fail writes an error Ack.
func fail(w http.ResponseWriter, status int, code bits.HRESULT, context int, sid string) {
	reply(w, status, sid, map[string]string{
		"BITS-Error-Code":    code.Hex(),
		"BITS-Error-Context": fmt.Sprintf("0x%X", context),
	})
}

// drainBody reads what is left of a body (up to maxDrain).
func drainBody(r *http.Request) {
	_, _ = io.CopyN(io.Discard, r.Body, maxDrain)
}

func (s *Server) packet(w http.ResponseWriter, r *http.Request) {
	typ := strings.ToLower(strings.TrimSpace(r.Header.Get("BITS-Packet-Type")))
	if typ != "fragment" {
		defer drainBody(r)
	}
	switch typ {
	case "ping":
		reply(w, http.StatusOK, "", nil)
	case "create-session":
		s.createSession(w, r)
	case "fragment":
		s.fragment(w, r)
	case "close-session", "cancel-session":
		s.endSession(w, r, typ == "cancel-session")
	default:
		s.log.Info("unexpected BITS packet", "type", typ, "path", r.URL.Path)
		fail(w, http.StatusBadRequest, bits.E_INVALIDARG, contextServer, r.Header.Get("BITS-Session-Id"))
	}
}

func supports(list string) bool {
	for _, p := range strings.FieldsFunc(list, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		if strings.EqualFold(p, Protocol) {
			return true
		}
	}
	return false
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	if !supports(r.Header.Get("BITS-Supported-Protocols")) {
		s.log.Info("upload refused: no common protocol", "offered", r.Header.Get("BITS-Supported-Protocols"))
		fail(w, http.StatusBadRequest, bits.E_INVALIDARG, contextServer, "")
		return
	}
	name, err := TargetName(r.URL.Path)
	if err != nil {
		s.log.Info("upload refused: bad name", "path", r.URL.Path, "err", err)
		fail(w, http.StatusBadRequest, bits.E_INVALIDARG, contextServer, "")
		return
	}
	if st, err := s.root.Stat(name); err == nil {
		if st.IsDir() {
			fail(w, http.StatusBadRequest, bits.E_INVALIDARG, contextServer, "")
			return
		}
		if !s.cfg.AllowOverwrite {
			s.log.Info("upload refused: file exists", "name", name)
			fail(w, http.StatusForbidden, bits.E_ACCESSDENIED, contextServer, "")
			return
		}
	}
	s.sweep()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sessions) >= s.cfg.MaxSessions {
		s.log.Warn("upload refused: too many open sessions", "limit", s.cfg.MaxSessions)
		fail(w, http.StatusServiceUnavailable, bits.HTTPError(http.StatusServiceUnavailable), contextServer, "")
		return
	}
	key := uuid.NewString()
	now := s.now()
	sess := &session{key: key, meta: sessionMeta{ID: "{" + key + "}", Name: name,
		ContentName: r.Header.Get("Content-Name"), Total: -1, Created: now, Touched: now}}
	// 0644 (less the umask): the part file becomes the stored upload.
	f, err := s.state.OpenFile(key+".part", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		err = s.saveMeta(sess)
	}
	if err != nil {
		s.log.Error("could not create an upload session", "err", err)
		_ = s.state.Remove(key + ".part")
		fail(w, http.StatusInternalServerError, diskCode(err), contextServer, "")
		return
	}
	s.sessions[key] = sess
	s.log.Info("upload session created", "session", sess.meta.ID, "name", name)
	reply(w, http.StatusOK, sess.meta.ID, map[string]string{"BITS-Protocol": Protocol, "Accept-Encoding": "identity"})
}

func diskCode(err error) bits.HRESULT {
	if errors.Is(err, syscall.ENOSPC) {
		return bits.ERROR_DISK_FULL
	}
	return bits.E_FAIL
}

// lookup finds the session of a packet and locks it; nil if unknown.
func (s *Server) lookup(r *http.Request) *session {
	key, ok := sessionKey(r.Header.Get("BITS-Session-Id"))
	if !ok {
		return nil
	}
	s.mu.Lock()
	sess := s.sessions[key]
	s.mu.Unlock()
	if sess == nil {
		return nil
	}
	sess.mu.Lock()
	if sess.gone {
		sess.mu.Unlock()
		return nil
	}
	return sess
}

// parseContentRange reads "bytes START-END/TOTAL" of a fragment with
// Content-Length n. An empty file's one fragment is "bytes */0" (also
// accepted: "bytes 0-0/0" and "bytes 0--1/0" with no body). end is -1 then.
func parseContentRange(h string, n int64) (start, end, total int64, err error) {
	rest, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(h)), "bytes")
	rest = strings.TrimSpace(rest)
	if !ok || rest == "" {
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q", h)
	}
	if n == 0 && (rest == "*/0" || rest == "0-0/0" || rest == "0--1/0") {
		return 0, -1, 0, nil
	}
	span, size, ok1 := strings.Cut(rest, "/")
	a, b, ok2 := strings.Cut(span, "-")
	if !ok1 || !ok2 {
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q", h)
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	total, err3 := strconv.ParseInt(size, 10, 64)
	switch {
	case err1 != nil || err2 != nil || err3 != nil || start < 0 || end < start || end >= total:
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q", h)
	case end-start+1 != n:
		return 0, 0, 0, fmt.Errorf("Content-Range %q does not match Content-Length %d", h, n)
	}
	return start, end, total, nil
}

func (s *Server) fragment(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(r)
	if sess == nil {
		drainBody(r)
		fail(w, http.StatusInternalServerError, bits.BG_E_SESSION_NOT_FOUND, contextServer, r.Header.Get("BITS-Session-Id"))
		return
	}
	defer sess.mu.Unlock()
	m := &sess.meta
	bad := func(status int, code bits.HRESULT, why string, args ...any) {
		s.log.Info("fragment refused", "session", m.ID, "why", fmt.Sprintf(why, args...))
		drainBody(r)
		fail(w, status, code, contextServer, m.ID)
	}
	if r.Header.Get("Content-Length") == "" {
		bad(http.StatusLengthRequired, bits.E_INVALIDARG, "no Content-Length")
		return
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		bad(http.StatusBadRequest, bits.E_INVALIDARG, "Content-Encoding %q", ce)
		return
	}
	start, end, total, err := parseContentRange(r.Header.Get("Content-Range"), r.ContentLength)
	switch {
	case err != nil:
		bad(http.StatusBadRequest, bits.E_INVALIDARG, "%v", err)
		return
	case s.cfg.MaxSize > 0 && total > s.cfg.MaxSize:
		bad(http.StatusInternalServerError, bits.BG_E_TOO_LARGE, "%d bytes, the limit is %d", total, s.cfg.MaxSize)
		return
	case m.Total >= 0 && total != m.Total:
		bad(http.StatusBadRequest, bits.E_INVALIDARG, "total %d, the session's is %d", total, m.Total)
		return
	}
	m.Total = total
	m.Touched = s.now()
	if cn := r.Header.Get("Content-Name"); cn != "" {
		m.ContentName = cn
	}
	if start > m.Received {
		// A gap: tell the client where to continue.
		drainBody(r)
		reply(w, http.StatusRequestedRangeNotSatisfiable, m.ID, map[string]string{"BITS-Received-Content-Range": strconv.FormatInt(m.Received, 10)})
		return
	}
	if !m.Committed {
		if err := s.write(sess, r, start, end); err != nil {
			var be bodyErr
			if errors.As(err, &be) {
				s.log.Info("fragment cut short", "session", m.ID, "received", m.Received, "err", err)
				fail(w, http.StatusBadRequest, bits.E_INVALIDARG, contextServer, m.ID)
				return
			}
			s.log.Error("could not store a fragment", "session", m.ID, "err", err)
			fail(w, http.StatusInternalServerError, diskCode(err), contextServer, m.ID)
			return
		}
	} else {
		drainBody(r) // a repeat of the last fragment: nothing to write
	}
	hdr := map[string]string{"BITS-Received-Content-Range": strconv.FormatInt(m.Received, 10)}
	if m.Received == m.Total {
		if err := s.commit(sess); err != nil {
			var ae *AppError
			if errors.As(err, &ae) {
				s.log.Warn("reply application failed", "session", m.ID, "err", err)
				fail(w, ae.Status, ae.Code, contextApplication, m.ID)
				return
			}
			if errors.Is(err, fs.ErrExist) {
				s.log.Info("upload refused: file exists", "session", m.ID, "name", m.Name)
				fail(w, http.StatusForbidden, bits.E_ACCESSDENIED, contextServer, m.ID)
				return
			}
			s.log.Error("could not store an upload", "session", m.ID, "err", err)
			fail(w, http.StatusInternalServerError, diskCode(err), contextServer, m.ID)
			return
		}
		if !s.cfg.NoReply {
			hdr["BITS-Reply-URL"] = replyURL(r, sess.key)
		}
	} else if err := s.saveMeta(sess); err != nil {
		s.log.Error("could not record a session", "session", m.ID, "err", err)
	}
	reply(w, http.StatusOK, m.ID, hdr)
}

// bodyErr marks a failure to read the request body (the client went away).
type bodyErr struct{ error }

func (e bodyErr) Unwrap() error { return e.error }

// write appends the part of [start, end] the session does not hold yet,
// makes it durable, then records it. Bytes received before a cut are kept:
// they are the client's bytes at their offsets.
func (s *Server) write(sess *session, r *http.Request, start, end int64) error {
	m := &sess.meta
	if skip := m.Received - start; skip > 0 {
		// Overlap: the server already has these bytes and never rewrites them.
		if _, err := io.CopyN(io.Discard, r.Body, min(skip, end-start+1)); err != nil {
			return bodyErr{err}
		}
	}
	tail := end + 1 - m.Received
	if tail <= 0 {
		return nil
	}
	f, err := s.state.OpenFile(sess.key+".part", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	body := &readErr{r: r.Body}
	n, cerr := io.CopyN(io.NewOffsetWriter(f, m.Received), body, tail)
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return err
	}
	if n > 0 {
		m.Received += n
		if err := s.saveMeta(sess); err != nil {
			return err
		}
	}
	switch {
	case cerr == nil:
		return nil
	case body.err != nil || errors.Is(cerr, io.EOF):
		return bodyErr{cerr}
	}
	return cerr
}

// readErr remembers a read failure, to tell it from a write failure.
type readErr struct {
	r   io.Reader
	err error
}

func (b *readErr) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// commit stores a complete upload in Dir (once) and makes its reply (once
// it succeeds). The file moves atomically: the fsynced part file becomes
// the target by a hard link (never over an existing file unless
// AllowOverwrite) or a rename, then the directory is fsynced.
func (s *Server) commit(sess *session) error {
	m := &sess.meta
	part := StateDirName + "/" + sess.key + ".part"
	if !m.Committed {
		sum, err := fileSHA256(s.state, sess.key+".part")
		if err != nil {
			return err
		}
		if dir := path.Dir(m.Name); dir != "." {
			if err := s.root.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		if err := s.place(part, m.Name); err != nil {
			return err
		}
		if err := syncDir(s.root, path.Dir(m.Name)); err != nil {
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
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	if err := writeAtomic(s.state, sess.key+".reply", body); err != nil {
		return err
	}
	m.ReplyType = ctype
	return s.saveMeta(sess)
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

func (s *Server) endSession(w http.ResponseWriter, r *http.Request, cancel bool) {
	sess := s.lookup(r)
	if sess == nil {
		fail(w, http.StatusInternalServerError, bits.BG_E_SESSION_NOT_FOUND, contextServer, r.Header.Get("BITS-Session-Id"))
		return
	}
	defer sess.mu.Unlock()
	m := sess.meta
	s.remove(sess)
	switch {
	case cancel && !m.Committed:
		s.log.Info("upload cancelled", "session", m.ID, "name", m.Name, "received", m.Received)
	case !m.Committed:
		s.log.Info("upload closed before its end: partial data discarded", "session", m.ID, "name", m.Name, "received", m.Received)
	default:
		s.log.Info("upload session closed", "session", m.ID, "name", m.Name, "cancelled", cancel)
	}
	reply(w, http.StatusOK, m.ID, nil)
}

// Serve answers on l until ctx ends, then shuts down gracefully (up to 10 s
// for packets in flight). Expired sessions are swept every hour.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("uploadserver: %w", err)
		case <-tick.C:
			s.sweep()
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil {
				return fmt.Errorf("uploadserver: shutdown: %w", err)
			}
			return nil
		}
	}
}

// ListenAndServe runs a Server for cfg on addr (e.g. "127.0.0.1:8080")
// until ctx ends. ready, if set, learns the bound address (useful with
// port 0) before the first request is served.
func ListenAndServe(ctx context.Context, addr string, cfg Config, ready func(net.Addr)) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("uploadserver: %w", err)
	}
	if ready != nil {
		ready(l.Addr())
	}
	return s.Serve(ctx, l)
}

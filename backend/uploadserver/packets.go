package uploadserver

// The packet handlers of BITS_POST and their Acks.

import (
	"crypto/sha256"
	"encoding"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/google/uuid"

	"ferry/backend/bits"
	"ferry/backend/internal/httprange"
)

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
		if s.fleet != nil {
			s.fleet.fragment(w, r)
		} else {
			s.fragment(w, r)
		}
	case "close-session", "cancel-session":
		if s.fleet != nil {
			s.fleet.endSession(w, r, typ == "cancel-session")
		} else {
			s.endSession(w, r, typ == "cancel-session")
		}
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
	if s.fleet != nil {
		s.fleet.createSession(w, r, name)
		return
	}
	if status, code, why := s.checkTarget(name); status != 0 {
		s.log.Info("upload refused", "name", name, "why", why)
		fail(w, status, code, contextServer, "")
		return
	}
	client := clientAddr(r)
	s.sweep()
	key := uuid.NewString()
	now := s.now()
	sess := &session{key: key, meta: sessionMeta{ID: "{" + key + "}", Name: name, Client: client,
		ContentName: r.Header.Get("Content-Name"), Total: -1, Created: now, Touched: now}, hash: sha256.New()}
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
	// A full table gives way: the session idle longest goes, so that
	// sessions held open on purpose cannot lock honest clients out.
	for {
		s.mu.Lock()
		if len(s.sessions) < s.cfg.MaxSessions {
			s.sessions[key] = sess
			s.mu.Unlock()
			break
		}
		v := s.victim(now, nil, false)
		s.mu.Unlock()
		if v == nil {
			s.log.Warn("upload refused: too many sessions, all busy", "limit", s.cfg.MaxSessions, "client", client)
			_ = s.state.Remove(key + ".json")
			_ = s.state.Remove(key + ".part")
			fail(w, http.StatusServiceUnavailable, bits.HTTPError(http.StatusServiceUnavailable), contextServer, "")
			return
		}
		s.evict(v, "a new session")
	}
	s.log.Info("upload session created", "session", sess.meta.ID, "name", name, "client", client)
	reply(w, http.StatusOK, sess.meta.ID, map[string]string{"BITS-Protocol": Protocol, "Accept-Encoding": "identity"})
}

// checkTarget decides at Create-Session what would fail only at the end of
// the upload: a name whose directory is reached through a symbolic link
// that leads outside Dir (403), a directory that is a file (400), and an
// existing target when overwriting is off (409, bits-reference §14; the
// client retries, so the upload goes on once the file is moved away).
func (s *Server) checkTarget(name string) (status int, code bits.HRESULT, why string) {
	if dir := path.Dir(name); dir != "." {
		// os.Root follows a link only while it stays inside Dir.
		st, err := s.root.Stat(dir)
		switch {
		case err == nil && !st.IsDir():
			return http.StatusBadRequest, bits.E_INVALIDARG, dir + " is a file, not a directory"
		case errors.Is(err, syscall.ENOTDIR):
			return http.StatusBadRequest, bits.E_INVALIDARG, "a parent of " + name + " is a file, not a directory"
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return http.StatusForbidden, bits.E_ACCESSDENIED, fmt.Sprintf("its directory cannot be used: %v", err)
		}
	}
	st, err := s.root.Lstat(name) // a link is replaced, never followed
	switch {
	case err == nil && st.IsDir():
		return http.StatusBadRequest, bits.E_INVALIDARG, name + " is a directory"
	case err == nil && !s.cfg.AllowOverwrite:
		return http.StatusConflict, bits.HTTPError(http.StatusConflict), "the file exists and overwriting is off"
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return http.StatusForbidden, bits.E_ACCESSDENIED, fmt.Sprintf("the name cannot be used: %v", err)
	}
	return 0, 0, ""
}

// clientAddr is the IP address of the TCP peer.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func diskCode(err error) bits.HRESULT {
	if errors.Is(err, syscall.ENOSPC) {
		return bits.ERROR_DISK_FULL
	}
	return bits.E_FAIL
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
	cr, err := httprange.ParseContentRange(h)
	switch {
	case err != nil || cr.Unsatisfied() || cr.Total < 0:
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q", h)
	case cr.Len() != n:
		return 0, 0, 0, fmt.Errorf("Content-Range %q does not match Content-Length %d", h, n)
	}
	return cr.Start, cr.End, cr.Total, nil
}

// fragErr is a Fragment refused on its headers alone.
type fragErr struct {
	status int
	code   bits.HRESULT
	why    string
}

// checkFragment reads a Fragment's range from its headers, and refuses
// what no session could take: no Content-Length, an encoded body, a bad
// Content-Range, a total beyond maxSize (0: no limit).
func checkFragment(r *http.Request, maxSize int64) (start, end, total int64, fe *fragErr) {
	if r.Header.Get("Content-Length") == "" {
		return 0, 0, 0, &fragErr{http.StatusLengthRequired, bits.E_INVALIDARG, "no Content-Length"}
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return 0, 0, 0, &fragErr{http.StatusBadRequest, bits.E_INVALIDARG, fmt.Sprintf("Content-Encoding %q", ce)}
	}
	start, end, total, err := parseContentRange(r.Header.Get("Content-Range"), r.ContentLength)
	switch {
	case err != nil:
		return 0, 0, 0, &fragErr{http.StatusBadRequest, bits.E_INVALIDARG, err.Error()}
	case maxSize > 0 && total > maxSize:
		return 0, 0, 0, &fragErr{http.StatusInternalServerError, bits.BG_E_TOO_LARGE, fmt.Sprintf("%d bytes, the limit is %d", total, maxSize)}
	}
	return start, end, total, nil
}

func (s *Server) fragment(w http.ResponseWriter, r *http.Request) {
	sess, status := s.lookup(r)
	if sess == nil {
		drainBody(r)
		fail(w, status, bits.BG_E_SESSION_NOT_FOUND, contextServer, r.Header.Get("BITS-Session-Id"))
		return
	}
	defer sess.mu.Unlock()
	defer s.account(sess)
	m := &sess.meta
	bad := func(status int, code bits.HRESULT, why string, args ...any) {
		s.log.Info("fragment refused", "session", m.ID, "why", fmt.Sprintf(why, args...))
		drainBody(r)
		fail(w, status, code, contextServer, m.ID)
	}
	start, end, total, fe := checkFragment(r, s.cfg.MaxSize)
	switch {
	case fe != nil:
		bad(fe.status, fe.code, "%s", fe.why)
		return
	case m.Total >= 0 && total != m.Total:
		bad(http.StatusBadRequest, bits.E_INVALIDARG, "total %d, the session's is %d", total, m.Total)
		return
	}
	if m.Total < 0 {
		if re := s.reserve(sess, total); re != nil {
			bad(re.status, re.code, "no room: %s", re.why)
			return
		}
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
	wrote := false
	if !m.Committed {
		var err error
		if wrote, err = s.write(sess, r, start, end); err != nil {
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
		// The whole length is recorded before the file is placed: a crash
		// between placing it and recording Committed must find Received ==
		// Total, which repair knows as "placed, then the crash" (a power cut
		// there left the session set aside and its client on a 409).
		if wrote {
			if err := s.saveMeta(sess); err != nil {
				s.log.Error("could not record a session", "session", m.ID, "err", err)
				fail(w, http.StatusInternalServerError, diskCode(err), contextServer, m.ID)
				return
			}
		}
		if err := s.commit(sess); err != nil {
			var ae *AppError
			if errors.As(err, &ae) {
				s.log.Warn("reply application failed", "session", m.ID, "err", err)
				fail(w, ae.Status, ae.Code, contextApplication, m.ID)
				return
			}
			if errors.Is(err, fs.ErrExist) { // created since Create-Session
				s.log.Info("upload refused: file exists", "session", m.ID, "name", m.Name)
				fail(w, http.StatusConflict, bits.HTTPError(http.StatusConflict), contextServer, m.ID)
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
		if wrote {
			// Unrecorded bytes are not acknowledged (they are durable, so
			// the client's resend records them).
			fail(w, http.StatusInternalServerError, diskCode(err), contextServer, m.ID)
			return
		}
	}
	reply(w, http.StatusOK, m.ID, hdr)
}

// bodyErr marks a failure to read the request body (the client went away).
type bodyErr struct{ error }

func (e bodyErr) Unwrap() error { return e.error }

// write appends the part of [start, end] the session does not hold yet and
// makes it durable; the caller records it (saveMeta) before the Ack. A
// fragment cut short counts for nothing: only acknowledged bytes are the
// session's progress, so a body that stalls after a few bytes does not make
// its session look alive. wrote reports new bytes in m.Received.
func (s *Server) write(sess *session, r *http.Request, start, end int64) (wrote bool, err error) {
	m := &sess.meta
	if skip := m.Received - start; skip > 0 {
		// Overlap: the server already has these bytes and never rewrites them.
		if _, err := io.CopyN(io.Discard, r.Body, min(skip, end-start+1)); err != nil {
			return false, bodyErr{err}
		}
	}
	tail := end + 1 - m.Received
	if tail <= 0 {
		return false, nil
	}
	f, err := s.state.OpenFile(sess.key+".part", os.O_WRONLY, 0)
	if err != nil {
		return false, err
	}
	// The SHA-256 of the reply runs along (a snapshot restores it if the
	// fragment is cut short), so storing the upload does not read it again.
	var snap []byte
	if sess.hash != nil {
		if snap, err = sess.hash.(encoding.BinaryMarshaler).MarshalBinary(); err != nil {
			sess.hash = nil
		}
	}
	body := &readErr{r: r.Body}
	out := &writeback{f: f, off: m.Received, from: m.Received}
	n, cerr := receive(out, body, tail, sess.hash)
	if cerr == nil && n < tail {
		cerr = io.ErrUnexpectedEOF
	}
	if cerr != nil && n > 0 {
		// Cut back to the recorded length (as a restart would).
		if err := f.Truncate(m.Received); err != nil {
			cerr = errors.Join(cerr, err)
		}
		n = 0
	}
	if cerr != nil && sess.hash != nil && sess.hash.(encoding.BinaryUnmarshaler).UnmarshalBinary(snap) != nil {
		sess.hash = nil
	}
	if err := errors.Join(syncData(f), f.Close()); err != nil {
		return false, err
	}
	m.Received += n
	s.metrics.stored.Add(float64(n))
	switch {
	case cerr == nil:
		return n > 0, nil
	case body.err != nil || errors.Is(cerr, io.EOF) || errors.Is(cerr, io.ErrUnexpectedEOF):
		return false, bodyErr{cerr}
	}
	return false, cerr
}

// receive copies n bytes of src to w, and into h (if not nil) on the
// side: the hash runs on the other processor while the next bytes come
// off the socket, so it costs the fragment no time.
func receive(w io.Writer, src io.Reader, n int64, h hash.Hash) (int64, error) {
	ringp := rings.Get().(*[][]byte)
	defer rings.Put(ringp)
	ring := *ringp
	if h == nil {
		return io.CopyBuffer(w, io.LimitReader(src, n), ring[0])
	}
	full, free := make(chan []byte, len(ring)), make(chan []byte, len(ring))
	for _, b := range ring {
		free <- b
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range full {
			h.Write(b)
			free <- b
		}
	}()
	var total int64
	var err error
	for total < n && err == nil {
		b := <-free
		// Whole buffers: few, large writes to the file.
		k, rerr := io.ReadFull(src, b[:min(int64(len(b)), n-total)])
		if k > 0 {
			if _, werr := w.Write(b[:k]); werr != nil {
				rerr = werr
			} else {
				total += int64(k)
			}
		}
		full <- b[:k]
		if rerr == io.EOF {
			rerr = io.ErrUnexpectedEOF
		}
		err = rerr
	}
	close(full)
	<-done
	return total, err
}

// rings holds the buffers fragments are received through (256 KiB reads
// take a body off the socket in few system calls).
var rings = sync.Pool{New: func() any {
	r := make([][]byte, 4)
	for i := range r {
		r[i] = make([]byte, 256<<10)
	}
	return &r
}}

// writebackEvery is how many bytes of a fragment are written before the
// kernel is asked to start writing them to disk.
const writebackEvery = 2 << 20

// writeback writes a fragment at its offset and starts the disk writing
// every writebackEvery bytes.
type writeback struct {
	f         *os.File
	off, from int64 // the next byte's offset; the first not yet handed to writeback
}

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	if w.off-w.from >= writebackEvery {
		startWriteback(w.f, w.from, w.off-w.from)
		w.from = w.off
	}
	return n, err
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

func (s *Server) endSession(w http.ResponseWriter, r *http.Request, cancel bool) {
	sess, status := s.lookup(r)
	if sess == nil {
		fail(w, status, bits.BG_E_SESSION_NOT_FOUND, contextServer, r.Header.Get("BITS-Session-Id"))
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

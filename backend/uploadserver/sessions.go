package uploadserver

// The session store: records on disk in Dir/.bits-sessions, loaded and
// repaired at start, swept when idle, removed when done.

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"ferry/backend/bits"
	"ferry/backend/internal/durable"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// SetAside is a session record that could not be read or repaired when the
// server started: its files were moved to Dir/.bits-sessions/unreadable
// rather than deleted, and the client will start a new session.
type SetAside struct {
	Key    string // the session's key (its GUID)
	Reason string
	Dir    string // where its files are now
}

type session struct {
	key  string
	mu   sync.Mutex // one packet of a session at a time
	meta sessionMeta
	gone bool // removed while a packet waited for mu
	// hash is the SHA-256 of the first meta.Received bytes (nil: unknown,
	// the file is read again when stored); guarded by mu.
	hash hash.Hash

	// The session's reservation, guarded by Server.mu (not mu, which a
	// fragment holds while it reads): its declared total and the bytes
	// of it received, both 0 once the upload is stored.
	declared, received int64
}

// sessionMeta is a session's record, Dir/.bits-sessions/KEY.json; the bytes
// received are in KEY.part, the reply in KEY.reply.
type sessionMeta struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ContentName string    `json:"contentName,omitempty"`
	Total       int64     `json:"total"`            // -1 until the first fragment
	Received    int64     `json:"received"`         // fsynced in KEY.part
	Client      string    `json:"client,omitempty"` // the address that created it
	Created     time.Time `json:"created"`
	Touched     time.Time `json:"touched"`
	Committed   bool      `json:"committed,omitempty"` // stored in Dir
	SHA256      string    `json:"sha256,omitempty"`
	ReplyType   string    `json:"replyType,omitempty"` // set once KEY.reply is complete
	// HashState is the SHA-256 state of the first Received bytes, so that
	// a restarted server need not read them again to store the upload.
	HashState []byte `json:"sha256State,omitempty"`
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
			// Kept (not served) when it cannot be moved: never deleted on a guess.
			known[key] = s.setAsideSession(key, entries, fmt.Errorf("unreadable record: %w", err)) != nil
			continue
		}
		sess := &session{key: key, meta: m}
		if len(m.HashState) > 0 {
			if h := sha256.New(); h.(encoding.BinaryUnmarshaler).UnmarshalBinary(m.HashState) == nil {
				sess.hash = h
			}
		}
		if err := s.repair(sess); err != nil {
			known[key] = s.setAsideSession(key, entries, fmt.Errorf("cannot be repaired: %w", err)) != nil
			continue
		}
		known[key] = true
		s.sessions[key] = sess
		s.account(sess)
	}
	for _, e := range entries {
		base, _, _ := strings.Cut(e.Name(), ".")
		if !known[base] && e.Name() != unreadableDir {
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
	if err == nil && !m.Committed {
		// Placed (a hard link) before the crash: the part file is the
		// stored file, whole, and never cut back whatever the record says.
		if tst, terr := s.root.Stat(m.Name); terr == nil && os.SameFile(st, tst) {
			m.Received = st.Size()
			return s.markCommitted(sess)
		}
	}
	switch {
	case err == nil && st.Size() > m.Received:
		f, err := s.state.OpenFile(sess.key+".part", os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return errors.Join(f.Truncate(m.Received), f.Sync(), f.Close())
	case err == nil && st.Size() < m.Received:
		return fmt.Errorf("%d bytes recorded, %d on disk", m.Received, st.Size())
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

// sweep removes expired sessions. A session busy with a packet is not idle
// and is skipped rather than waited for: a slow fragment must not hold up
// the Create-Session that sweeps.
func (s *Server) sweep() {
	now := s.now()
	s.mu.Lock()
	var old []*session
	for _, sess := range s.sessions {
		if sess.mu.TryLock() {
			if s.expired(&sess.meta, now) {
				old = append(old, sess)
			}
			sess.mu.Unlock()
		}
	}
	s.mu.Unlock()
	for _, sess := range old {
		if !sess.mu.TryLock() {
			continue // a packet arrived meanwhile
		}
		if !sess.gone && s.expired(&sess.meta, now) {
			s.log.Info("upload session expired", "session", sess.meta.ID, "name", sess.meta.Name,
				"received", sess.meta.Received, "idle", now.Sub(sess.meta.Touched).Round(time.Second))
			s.remove(sess)
		}
		sess.mu.Unlock()
	}
}

// expired: idle past the session timeout, or past the much shorter one
// when it never received a byte (an abandoned or hostile Create-Session).
func (s *Server) expired(m *sessionMeta, now time.Time) bool {
	idle := now.Sub(m.Touched)
	if idle > s.cfg.SessionTimeout {
		return true
	}
	return !m.Committed && m.Received == 0 && idle > s.cfg.EmptySessionTimeout
}

// sweepInterval is how often Serve sweeps: often enough for the shorter
// timeout to hold to within half of itself.
func (s *Server) sweepInterval() time.Duration {
	d := min(time.Minute, s.cfg.EmptySessionTimeout/2, s.cfg.SessionTimeout/2)
	return max(d, time.Second)
}

// account updates the reservation of sess from its record (caller holds
// sess.mu).
func (s *Server) account(sess *session) {
	m := &sess.meta
	var declared, received int64
	if m.Total >= 0 && !m.Committed {
		declared, received = m.Total, m.Received
	}
	s.mu.Lock()
	sess.declared, sess.received = declared, received
	s.mu.Unlock()
}

// victim chooses the session that gives way to another: not busy with a
// packet, idle at least EvictIdle; one that never received a byte before
// any other (so that a flood of empty Create-Sessions pushes out only
// itself, never an upload under way), then the one idle longest, then
// the one with the fewest bytes; with reserved, only one holding a
// reservation. It is returned locked; nil if none qualifies (caller holds
// s.mu).
func (s *Server) victim(now time.Time, exclude *session, reserved bool) *session {
	var best *session
	var bestIdle time.Duration
	empty := func(sess *session) bool { return sess.meta.Received == 0 && !sess.meta.Committed }
	for _, sess := range s.sessions {
		if sess == exclude || (reserved && sess.declared == 0) || !sess.mu.TryLock() {
			continue
		}
		idle := now.Sub(sess.meta.Touched)
		better := best == nil || (empty(sess) && !empty(best)) ||
			(empty(sess) == empty(best) && (idle > bestIdle || (idle == bestIdle && sess.meta.Received < best.meta.Received)))
		if idle < s.cfg.EvictIdle || !better {
			sess.mu.Unlock()
			continue
		}
		if best != nil {
			best.mu.Unlock()
		}
		best, bestIdle = sess, idle
	}
	return best
}

// evict removes a victim (locked by victim) to make room.
func (s *Server) evict(v *session, why string) {
	m := &v.meta
	s.log.Warn("upload session dropped to make room", "why", why, "session", m.ID, "name", m.Name,
		"client", m.Client, "received", m.Received, "idle", s.now().Sub(m.Touched).Round(time.Second))
	s.remove(v)
	v.mu.Unlock()
}

// reserveErr is a refused reservation: the Ack to answer.
type reserveErr struct {
	status int
	code   bits.HRESULT
	why    string
}

// reserve reserves the declared total of an upload at its first fragment
// (caller holds sess.mu), against Quota and the free space of Dir, so that
// sizes a client only declares cannot hold the disk: a total beyond Quota
// is refused for good (BG_E_TOO_LARGE); one that does not fit beside the
// other reservations first takes the space of idle sessions, else is
// refused for now (503). Received bytes are on disk already, so only what
// is still to come counts against the free space.
func (s *Server) reserve(sess *session, total int64) *reserveErr {
	if s.cfg.Quota > 0 && total > s.cfg.Quota {
		return &reserveErr{http.StatusInternalServerError, bits.BG_E_TOO_LARGE,
			fmt.Sprintf("%d bytes, the quota is %d", total, s.cfg.Quota)}
	}
	free, ferr := s.diskFree()
	if ferr != nil {
		s.log.Warn("free space unknown; reservations bounded by the quota alone", "err", ferr)
	} else if total > free {
		return &reserveErr{http.StatusServiceUnavailable, bits.ERROR_DISK_FULL,
			fmt.Sprintf("%d bytes, %d free", total, free)}
	}
	for {
		s.mu.Lock()
		var declared, pending int64
		for _, o := range s.sessions {
			if o != sess {
				declared += o.declared
				pending += o.declared - o.received
			}
		}
		quotaOK := s.cfg.Quota <= 0 || declared+total <= s.cfg.Quota
		freeOK := ferr != nil || pending+total <= free
		if quotaOK && freeOK {
			sess.declared, sess.received = total, 0
			s.mu.Unlock()
			return nil
		}
		v := s.victim(s.now(), sess, true)
		s.mu.Unlock()
		if v == nil {
			if !freeOK {
				return &reserveErr{http.StatusServiceUnavailable, bits.ERROR_DISK_FULL,
					fmt.Sprintf("%d bytes, %d free of which %d reserved", total, free, pending)}
			}
			return &reserveErr{http.StatusServiceUnavailable, bits.HTTPError(http.StatusServiceUnavailable),
				fmt.Sprintf("%d bytes, %d of the quota of %d reserved", total, declared, s.cfg.Quota)}
		}
		s.evict(v, "space for a new upload")
		if ferr == nil {
			if f, err := s.diskFree(); err == nil {
				free = f // its received bytes are free again
			}
		}
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
	_ = durable.SyncDirIn(s.state, ".")
}

// saveMeta records a session atomically and durably.
func (s *Server) saveMeta(sess *session) error {
	sess.meta.HashState = nil
	if sess.hash != nil && !sess.meta.Committed {
		sess.meta.HashState, _ = sess.hash.(encoding.BinaryMarshaler).MarshalBinary()
	}
	b, err := json.Marshal(&sess.meta)
	if err != nil {
		return err
	}
	return durable.WriteFileIn(s.state, sess.key+".json", b, 0o600)
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

// lookup finds the session of a packet and locks it. A session belongs to
// its URL: a packet to another path is refused as IIS does, where sessions
// live beside their target, so that a session id cannot carry bytes into
// another file. Without a session, status is the one to answer: 500 for
// an unknown id, 400 for another URL's.
func (s *Server) lookup(r *http.Request) (sess *session, status int) {
	key, ok := sessionKey(r.Header.Get("BITS-Session-Id"))
	if !ok {
		return nil, http.StatusInternalServerError
	}
	s.mu.Lock()
	sess = s.sessions[key]
	s.mu.Unlock()
	if sess == nil {
		return nil, http.StatusInternalServerError
	}
	name, err := TargetName(r.URL.Path)
	if err != nil || name != sess.meta.Name { // Name is written once, before the session is shared
		s.log.Warn("packet refused: the session belongs to another URL", "session", sess.meta.ID,
			"path", r.URL.Path, "client", clientAddr(r))
		return nil, http.StatusBadRequest
	}
	sess.mu.Lock()
	if sess.gone {
		sess.mu.Unlock()
		return nil, http.StatusInternalServerError
	}
	return sess, 0
}

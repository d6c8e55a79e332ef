package uploadserver

// The session store: records on disk in Dir/.bits-sessions, loaded and
// repaired at start, swept when idle, removed when done.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"ferry/backend/internal/durable"
	"fmt"
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
		if err := s.repair(sess); err != nil {
			known[key] = s.setAsideSession(key, entries, fmt.Errorf("cannot be repaired: %w", err)) != nil
			continue
		}
		known[key] = true
		s.sessions[key] = sess
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

// clientSessions counts the sessions an address holds (caller holds s.mu).
func (s *Server) clientSessions(client string) int {
	n := 0
	for _, sess := range s.sessions {
		if sess.meta.Client == client { // written once, before the session is shared
			n++
		}
	}
	return n
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

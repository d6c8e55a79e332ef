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

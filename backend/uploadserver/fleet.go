package uploadserver

// Fleet mode: sessions and uploads in an object store (Config.Store), so
// that any number of stateless instances behind a load balancer serve any
// packet of any session.
//
// Layout below the store's prefix:
//
//	NAME                          a finished upload (a multipart upload of it while it comes)
//	.bits-sessions/m/KEY          the session record (JSON), rewritten with If-Match
//	.bits-sessions/e/KEY          present while the session has received no byte
//	.bits-sessions/g/KEY          present while a closed or expired session is cleaned up
//	.bits-sessions/d/KEY/s/OFF-R  staged bytes [OFF, OFF+size) (fragments below 5 MiB)
//	.bits-sessions/d/KEY/reply    the reply of an upload-reply job
//
// Every change of a session is a read of its record, the work, and a
// conditional write of the record (If-Match on the ETag read): of two
// instances that act on one session at once, one wins and the other finds
// the record changed and starts over or gives up. Bytes are acknowledged
// only once the record that counts them is written, and the record counts
// only bytes the store holds.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"ferry/backend/bits"
	"ferry/backend/uploadserver/objstore"
)

const (
	fleetMetaPrefix  = StateDirName + "/m/"
	fleetEmptyPrefix = StateDirName + "/e/"
	fleetGonePrefix  = StateDirName + "/g/"
	fleetDataPrefix  = StateDirName + "/d/"
	// orphanGrace: a multipart upload or staged object that no session
	// record names is removed once it is this old (an instance died
	// between making it and recording it; that takes milliseconds).
	orphanGrace = 2 * time.Minute
	// goneGrace: a tombstone older than this is a clean-up whose instance died.
	goneGrace = time.Minute
	// maxReply bounds a reply document read back from the store.
	maxReply = 16 << 20
	// modifyTries bounds the read-modify-write loop of a record.
	modifyTries = 8
)

// fleetMeta is a session's record in the store.
type fleetMeta struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ContentName string    `json:"contentName,omitempty"`
	Total       int64     `json:"total"`    // -1 until the first fragment
	Received    int64     `json:"received"` // held by Parts and Staged
	Client      string    `json:"client,omitempty"`
	Created     time.Time `json:"created"`
	Touched     time.Time `json:"touched"`
	// HashState is the SHA-256 state of the first Received bytes.
	HashState []byte `json:"sha256State,omitempty"`
	// UploadID is the multipart upload of Name, once a part is on its way.
	UploadID string `json:"uploadId,omitempty"`
	// NextPart is the last part number handed out (parts of failed
	// attempts are never listed, so Complete leaves them out).
	NextPart int32           `json:"nextPart,omitempty"`
	Parts    []objstore.Part `json:"parts,omitempty"`
	// Staged holds the bytes after the parts, in order: fewer than
	// objstore.MinPart of them.
	Staged    []staged `json:"staged,omitempty"`
	Stored    bool     `json:"stored,omitempty"` // Name is the upload
	SHA256    string   `json:"sha256,omitempty"`
	ReplyType string   `json:"replyType,omitempty"` // the reply object is complete
	// Gone: closed, cancelled, expired or evicted; being cleaned up.
	Gone string `json:"gone,omitempty"`
}

type staged struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
}

func (m *fleetMeta) clone() *fleetMeta {
	c := *m
	c.Parts = slices.Clone(m.Parts)
	c.Staged = slices.Clone(m.Staged)
	c.HashState = slices.Clone(m.HashState)
	return &c
}

func (m *fleetMeta) stagedBytes() int64 {
	var n int64
	for _, s := range m.Staged {
		n += s.Size
	}
	return n
}

// fleet is the store-backed session engine of a Server.
type fleet struct {
	s  *Server
	st objstore.Store
}

// Errors of the read-modify-write loop.
var (
	errGone     = errors.New("the session is gone")
	errConflict = errors.New("another packet of the session changed it first")
)

func metaKey(key string) string { return fleetMetaPrefix + key }

func (f *fleet) load(ctx context.Context, key string) (*fleetMeta, string, error) {
	rc, o, err := f.st.Get(ctx, metaKey(key))
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, "", fmt.Errorf("read session %s: %w", key, err)
	}
	var m fleetMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, "", fmt.Errorf("session %s: unreadable record: %w", key, err)
	}
	return &m, o.ETag, nil
}

// save writes a record: over the version etag, or new if etag is "".
func (f *fleet) save(ctx context.Context, key string, m *fleetMeta, etag string) (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	cond := objstore.Cond{IfMatch: etag, IfNoneMatch: etag == ""}
	return f.st.Put(ctx, metaKey(key), bytes.NewReader(b), int64(len(b)), "", cond)
}

// modify applies change to the record (version etag) and writes it over
// that version; when another instance wrote first, it reads the record
// again and applies change to that, so change must check what it relies
// on. It returns the record written, or an error of change.
func (f *fleet) modify(ctx context.Context, key string, m *fleetMeta, etag string, change func(*fleetMeta) error) (*fleetMeta, string, error) {
	for i := 0; ; i++ {
		next := m.clone()
		if err := change(next); err != nil {
			return m, etag, err
		}
		e, err := f.save(ctx, key, next, etag)
		if err == nil {
			return next, e, nil
		}
		if !errors.Is(err, objstore.ErrPrecondition) || i == modifyTries {
			return m, etag, err
		}
		m, etag, err = f.load(ctx, key)
		if errors.Is(err, objstore.ErrNotFound) {
			return nil, "", errGone
		}
		if err != nil {
			return nil, "", err
		}
	}
}

// storeFail answers a failure of the store (503: the client retries).
func (f *fleet) storeFail(w http.ResponseWriter, r *http.Request, sid, what string, err error) {
	f.s.log.Error("object store failed", "what", what, "session", sid, "err", err)
	drainBody(r)
	fail(w, http.StatusServiceUnavailable, bits.HTTPError(http.StatusServiceUnavailable), contextServer, sid)
}

func (f *fleet) createSession(w http.ResponseWriter, r *http.Request, name string) {
	ctx := r.Context()
	client := clientAddr(r)
	if !f.s.cfg.AllowOverwrite {
		_, err := f.st.Stat(ctx, name)
		switch {
		case err == nil:
			f.s.log.Info("upload refused", "name", name, "why", "the file exists and overwriting is off")
			fail(w, http.StatusConflict, bits.HTTPError(http.StatusConflict), contextServer, "")
			return
		case !errors.Is(err, objstore.ErrNotFound):
			f.storeFail(w, r, "", "create-session", err)
			return
		}
	}
	if ok, err := f.makeRoom(ctx); err != nil {
		f.storeFail(w, r, "", "create-session", err)
		return
	} else if !ok {
		f.s.log.Warn("upload refused: too many sessions, none may give way", "limit", f.s.cfg.MaxSessions, "client", client)
		fail(w, http.StatusServiceUnavailable, bits.HTTPError(http.StatusServiceUnavailable), contextServer, "")
		return
	}
	key := uuid.NewString()
	now := f.s.now()
	m := &fleetMeta{ID: "{" + key + "}", Name: name, Client: client, ContentName: r.Header.Get("Content-Name"),
		Total: -1, Created: now, Touched: now}
	if _, err := f.save(ctx, key, m, ""); err != nil {
		f.storeFail(w, r, "", "create-session", err)
		return
	}
	// The marker after the record: a marker never names a missing session.
	if _, err := f.st.Put(ctx, fleetEmptyPrefix+key, bytes.NewReader(nil), 0, "", objstore.Cond{}); err != nil {
		f.s.log.Warn("could not mark a new session empty", "session", m.ID, "err", err)
	}
	f.s.log.Info("upload session created", "session", m.ID, "name", name, "client", client)
	reply(w, http.StatusOK, m.ID, map[string]string{"BITS-Protocol": Protocol, "Accept-Encoding": "identity"})
}

// makeRoom keeps the sessions in the store below MaxSessions: when they
// are at it, the oldest session that never received a byte goes (so a
// flood of empty Create-Sessions pushes out only itself), else the one
// idle longest; either only if idle at least EvictIdle, which an
// uploading session never is. Instances count the same
// sessions, so the limit holds across the fleet (give or take the
// Create-Sessions in flight at once).
func (f *fleet) makeRoom(ctx context.Context) (bool, error) {
	metas, err := f.st.List(ctx, fleetMetaPrefix)
	if err != nil {
		return false, err
	}
	if len(metas) < f.s.cfg.MaxSessions {
		return true, nil
	}
	empties, err := f.st.List(ctx, fleetEmptyPrefix)
	if err != nil {
		return false, err
	}
	now := f.s.now()
	idle := func(m *fleetMeta) bool { return now.Sub(m.Touched) >= f.s.cfg.EvictIdle }
	sort.Slice(empties, func(i, j int) bool { return empties[i].Modified.Before(empties[j].Modified) })
	for _, e := range empties {
		if now.Sub(e.Modified) < f.s.cfg.EvictIdle {
			break
		}
		key := strings.TrimPrefix(e.Key, fleetEmptyPrefix)
		if f.expire(ctx, key, "evicted: the session table is full and it has received no byte",
			func(m *fleetMeta) bool { return m.Received == 0 && m.NextPart == 0 && idle(m) }) {
			return true, nil
		}
	}
	sort.Slice(metas, func(i, j int) bool { return metas[i].Modified.Before(metas[j].Modified) })
	for _, o := range metas {
		if now.Sub(o.Modified) < f.s.cfg.EvictIdle {
			break
		}
		key := strings.TrimPrefix(o.Key, fleetMetaPrefix)
		if f.expire(ctx, key, "evicted: the session table is full and it was idle longest", idle) {
			return true, nil
		}
	}
	return false, nil
}

// expire ends a session if cond holds for its record (the tombstone is a
// conditional write, so of two instances only one ends it) and cleans it
// up. It reports whether this call ended it.
func (f *fleet) expire(ctx context.Context, key, why string, cond func(*fleetMeta) bool) bool {
	m, etag, err := f.load(ctx, key)
	if err != nil {
		if errors.Is(err, objstore.ErrNotFound) {
			f.removeLeftovers(ctx, key)
		}
		return false
	}
	m, _, err = f.modify(ctx, key, m, etag, func(c *fleetMeta) error {
		if c.Gone != "" || !cond(c) {
			return errGone
		}
		c.Gone = why
		return nil
	})
	if err != nil || m == nil {
		return false
	}
	f.s.log.Info("upload session ended", "why", why, "session", m.ID, "name", m.Name, "client", m.Client,
		"received", m.Received, "idle", f.s.now().Sub(m.Touched).Round(time.Second))
	f.cleanup(ctx, key, m)
	return true
}

// cleanup removes what a tombstoned session holds, its record last. It is
// idempotent: an instance that finds a tombstone left by a dead one runs it
// again.
func (f *fleet) cleanup(ctx context.Context, key string, m *fleetMeta) {
	var errs []error
	if _, err := f.st.Put(ctx, fleetGonePrefix+key, bytes.NewReader(nil), 0, "", objstore.Cond{}); err != nil {
		errs = append(errs, err)
	}
	if m.UploadID != "" && !m.Stored {
		errs = append(errs, f.st.AbortMultipart(ctx, m.Name, m.UploadID))
	}
	errs = append(errs, f.deleteData(ctx, key), f.st.Delete(ctx, fleetEmptyPrefix+key), f.st.Delete(ctx, metaKey(key)))
	if err := errors.Join(errs...); err != nil {
		f.s.log.Warn("could not clean up an upload session; the next sweep retries", "session", m.ID, "err", err)
		return
	}
	_ = f.st.Delete(ctx, fleetGonePrefix+key)
}

func (f *fleet) deleteData(ctx context.Context, key string) error {
	objs, err := f.st.List(ctx, fleetDataPrefix+key+"/")
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range objs {
		errs = append(errs, f.st.Delete(ctx, o.Key))
	}
	return errors.Join(errs...)
}

// removeLeftovers removes the objects of a session without a record.
func (f *fleet) removeLeftovers(ctx context.Context, key string) {
	_ = f.deleteData(ctx, key)
	_ = f.st.Delete(ctx, fleetEmptyPrefix+key)
	_ = f.st.Delete(ctx, fleetGonePrefix+key)
}

// lookup reads the record of a packet's session. Without one, status is
// the one to answer (500: unknown, 400: another URL's).
func (f *fleet) lookup(r *http.Request) (key string, m *fleetMeta, etag string, status int, err error) {
	key, ok := sessionKey(r.Header.Get("BITS-Session-Id"))
	if !ok {
		return "", nil, "", http.StatusInternalServerError, nil
	}
	m, etag, err = f.load(r.Context(), key)
	switch {
	case errors.Is(err, objstore.ErrNotFound):
		return "", nil, "", http.StatusInternalServerError, nil
	case err != nil:
		return "", nil, "", 0, err
	case m.Gone != "":
		return "", nil, "", http.StatusInternalServerError, nil
	}
	if name, nerr := TargetName(r.URL.Path); nerr != nil || name != m.Name {
		f.s.log.Warn("packet refused: the session belongs to another URL", "session", m.ID,
			"path", r.URL.Path, "client", clientAddr(r))
		return "", nil, "", http.StatusBadRequest, nil
	}
	return key, m, etag, 0, nil
}

func (f *fleet) fragment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sid := r.Header.Get("BITS-Session-Id")
	key, m, etag, status, err := f.lookup(r)
	if err != nil {
		f.storeFail(w, r, sid, "fragment", err)
		return
	}
	if m == nil {
		drainBody(r)
		fail(w, status, bits.BG_E_SESSION_NOT_FOUND, contextServer, sid)
		return
	}
	bad := func(status int, code bits.HRESULT, why string) {
		f.s.log.Info("fragment refused", "session", m.ID, "why", why)
		drainBody(r)
		fail(w, status, code, contextServer, m.ID)
	}
	start, end, total, fe := checkFragment(r, f.s.cfg.MaxSize)
	switch {
	case fe != nil:
		bad(fe.status, fe.code, fe.why)
		return
	case m.Total >= 0 && total != m.Total:
		bad(http.StatusBadRequest, bits.E_INVALIDARG, fmt.Sprintf("total %d, the session's is %d", total, m.Total))
		return
	case start > m.Received:
		drainBody(r)
		reply(w, http.StatusRequestedRangeNotSatisfiable, m.ID, map[string]string{"BITS-Received-Content-Range": strconv.FormatInt(m.Received, 10)})
		return
	}
	if skip := m.Received - start; skip > 0 {
		// Overlap: the store has these bytes already.
		if _, err := io.CopyN(io.Discard, r.Body, min(skip, end-start+1)); err != nil {
			bad(http.StatusBadRequest, bits.E_INVALIDARG, fmt.Sprintf("body cut short: %v", err))
			return
		}
	}
	if tail := end + 1 - m.Received; tail > 0 || m.Total < 0 {
		m, etag, err = f.receive(ctx, key, m, etag, r.Body, total, max(tail, 0), r.Header.Get("Content-Name"))
		var be bodyErr
		switch {
		case errors.As(err, &be):
			f.s.log.Info("fragment cut short", "session", m.ID, "received", m.Received, "err", err)
			fail(w, http.StatusBadRequest, bits.E_INVALIDARG, contextServer, m.ID)
			return
		case errors.Is(err, errTooLarge):
			bad(http.StatusRequestEntityTooLarge, bits.HTTPError(http.StatusRequestEntityTooLarge), err.Error())
			return
		case errors.Is(err, errGone):
			bad(http.StatusInternalServerError, bits.BG_E_SESSION_NOT_FOUND, "the session ended meanwhile")
			return
		case errors.Is(err, errConflict):
			// Another instance took the same bytes: the client learns where
			// the session is from its next packet.
			bad(http.StatusServiceUnavailable, bits.HTTPError(http.StatusServiceUnavailable), err.Error())
			return
		case err != nil:
			f.storeFail(w, r, m.ID, "fragment", err)
			return
		}
	} else {
		drainBody(r)
	}
	hdr := map[string]string{"BITS-Received-Content-Range": strconv.FormatInt(m.Received, 10)}
	if m.Received == m.Total {
		if m, err = f.commit(ctx, key, m, etag, r); err != nil {
			var ae *AppError
			switch {
			case errors.As(err, &ae):
				f.s.log.Warn("reply application failed", "session", m.ID, "err", err)
				fail(w, ae.Status, ae.Code, contextApplication, m.ID)
			case errors.Is(err, fs.ErrExist):
				f.s.log.Info("upload refused: file exists", "session", m.ID, "name", m.Name)
				fail(w, http.StatusConflict, bits.HTTPError(http.StatusConflict), contextServer, m.ID)
			case errors.Is(err, errGone):
				fail(w, http.StatusInternalServerError, bits.BG_E_SESSION_NOT_FOUND, contextServer, m.ID)
			default:
				f.storeFail(w, r, m.ID, "storing the upload", err)
			}
			return
		}
		if !f.s.cfg.NoReply {
			hdr["BITS-Reply-URL"] = replyURL(r, key)
		}
	}
	reply(w, http.StatusOK, m.ID, hdr)
}

var errTooLarge = errors.New("the fragment does not fit in one part of the object store; send smaller ones")

// exactBody reads exactly n bytes of a request body into the hash; a body
// that ends early or fails is a bodyErr.
type exactBody struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

func (b *exactBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	k, err := b.r.Read(p)
	b.h.Write(p[:k])
	b.n -= int64(k)
	if err == io.EOF && b.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	if b.n == 0 && err == nil {
		err = io.EOF
	}
	return k, err
}

// stagedReader reads staged objects one after the other, each opened when
// reached.
type stagedReader struct {
	ctx  context.Context
	st   objstore.Store
	keys []staged
	cur  io.ReadCloser
}

func (s *stagedReader) Read(p []byte) (int, error) {
	for {
		if s.cur == nil {
			if len(s.keys) == 0 {
				return 0, io.EOF
			}
			rc, _, err := s.st.Get(s.ctx, s.keys[0].Key)
			if err != nil {
				return 0, err
			}
			s.cur, s.keys = rc, s.keys[1:]
		}
		n, err := s.cur.Read(p)
		if err == io.EOF {
			s.cur.Close()
			s.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (s *stagedReader) Close() {
	if s.cur != nil {
		s.cur.Close()
	}
}

func restoreHash(state []byte) hash.Hash {
	h := sha256.New()
	if len(state) > 0 {
		if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state) != nil {
			return nil
		}
	}
	return h
}

func randomToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// receive stores the next tail bytes of body, at m.Received, and records
// them: as a part of the multipart upload of the target when they (with
// the staged bytes before them) make one of at least MinPart bytes or end
// the upload, else as a staged object. tail may be 0 to record the total
// alone (an empty upload's one fragment). A Content-Name sent with the
// fragment replaces the session's.
func (f *fleet) receive(ctx context.Context, key string, m *fleetMeta, etag string, body io.Reader, total, tail int64, contentName string) (*fleetMeta, string, error) {
	base := m.Received
	now := f.s.now()
	h := restoreHash(m.HashState)
	if h == nil {
		return m, etag, fmt.Errorf("session %s: unreadable hash state", key)
	}
	in := &exactBody{r: body, h: h, n: tail}
	pending := m.stagedBytes()
	last := base+tail == total
	asPart := tail > 0 && (pending+tail >= objstore.MinPart || (last && len(m.Parts) > 0))
	if asPart && (pending+tail > objstore.MaxPart || m.NextPart >= objstore.MaxParts) {
		return m, etag, errTooLarge
	}
	check := func(c *fleetMeta) error {
		switch {
		case c.Gone != "":
			return errGone
		case c.Received != base:
			return errConflict
		}
		return nil
	}
	var consumed []staged
	var record func(*fleetMeta) error
	recorded := false
	switch {
	case tail == 0:
		record = func(*fleetMeta) error { return nil }
	case asPart:
		// Reserve a part number (and the upload) first: two instances
		// never write the same part.
		var created string
		var n int32
		rm, retag, err := f.modify(ctx, key, m, etag, func(c *fleetMeta) error {
			if err := check(c); err != nil {
				return err
			}
			if c.UploadID == "" {
				if created == "" {
					id, err := f.st.CreateMultipart(ctx, c.Name, key)
					if err != nil {
						return err
					}
					created = id
				}
				c.UploadID = created
			}
			c.NextPart++
			n = c.NextPart
			c.Total, c.Touched = total, now
			return nil
		})
		if created != "" && (err != nil || rm.UploadID != created) {
			_ = f.st.AbortMultipart(ctx, m.Name, created)
		}
		if err != nil {
			return m, etag, err
		}
		m, etag = rm, retag
		src := &stagedReader{ctx: ctx, st: f.st, keys: m.Staged}
		petag, err := f.st.UploadPart(ctx, m.Name, m.UploadID, n, io.MultiReader(src, in), pending+tail)
		src.Close()
		if in.err != nil {
			return m, etag, bodyErr{in.err}
		}
		if err != nil {
			return m, etag, err
		}
		uploadID := m.UploadID
		record = func(c *fleetMeta) error {
			if c.UploadID != uploadID {
				return errConflict
			}
			consumed = c.Staged
			c.Parts = append(c.Parts, objstore.Part{N: n, ETag: petag, Size: pending + tail})
			c.Staged = nil
			return nil
		}
	default:
		sk := fmt.Sprintf("%s%s/s/%016x-%s", fleetDataPrefix, key, base, randomToken())
		if _, err := f.st.Put(ctx, sk, in, tail, "", objstore.Cond{}); err != nil {
			_ = f.st.Delete(ctx, sk)
			if in.err != nil {
				return m, etag, bodyErr{in.err}
			}
			return m, etag, err
		}
		record = func(c *fleetMeta) error {
			c.Staged = append(c.Staged, staged{Key: sk, Size: tail})
			return nil
		}
		defer func() {
			if !recorded { // not acknowledged: nothing names it
				_ = f.st.Delete(context.WithoutCancel(ctx), sk)
			}
		}()
	}
	hs, _ := h.(encoding.BinaryMarshaler).MarshalBinary()
	nm, netag, err := f.modify(ctx, key, m, etag, func(c *fleetMeta) error {
		if err := check(c); err != nil {
			return err
		}
		if err := record(c); err != nil {
			return err
		}
		c.Received, c.Total, c.Touched, c.HashState = base+tail, total, now, hs
		if contentName != "" {
			c.ContentName = contentName
		}
		return nil
	})
	if err != nil {
		return m, etag, err
	}
	recorded = true
	f.s.metrics.stored.Add(float64(tail))
	for _, s := range consumed {
		_ = f.st.Delete(ctx, s.Key)
	}
	if base == 0 && tail > 0 {
		_ = f.st.Delete(ctx, fleetEmptyPrefix+key)
	}
	return nm, netag, nil
}

// commit makes the upload of a complete session (once: from the parts, or
// from the staged bytes when they are all there is), then its reply. Any
// instance may do it, and again after one died half-way: the object is
// tagged with the session, so a retry recognises its own upload.
func (f *fleet) commit(ctx context.Context, key string, m *fleetMeta, etag string, r *http.Request) (*fleetMeta, error) {
	if !m.Stored {
		ifNone := !f.s.cfg.AllowOverwrite
		var err error
		if len(m.Parts) == 0 {
			src := &stagedReader{ctx: ctx, st: f.st, keys: m.Staged}
			_, err = f.st.Put(ctx, m.Name, src, m.Received, key, objstore.Cond{IfNoneMatch: ifNone})
			src.Close()
		} else {
			err = f.st.CompleteMultipart(ctx, m.Name, m.UploadID, m.Parts, ifNone)
		}
		if errors.Is(err, objstore.ErrPrecondition) || errors.Is(err, objstore.ErrNotFound) {
			// Made already by an instance that died before recording it?
			if st, serr := f.st.Stat(ctx, m.Name); serr == nil && st.Tag == key && st.Size == m.Total {
				err = nil
			} else if errors.Is(err, objstore.ErrPrecondition) {
				err = fs.ErrExist
			}
		}
		if err != nil {
			return m, err
		}
		h := restoreHash(m.HashState)
		if h == nil {
			return m, fmt.Errorf("session %s: unreadable hash state", key)
		}
		sum := hex.EncodeToString(h.Sum(nil))
		var consumed []staged
		nm, netag, err := f.modify(ctx, key, m, etag, func(c *fleetMeta) error {
			if c.Gone != "" {
				return errGone
			}
			consumed = c.Staged
			c.Stored, c.SHA256, c.Staged, c.HashState = true, sum, nil, nil
			return nil
		})
		if err != nil {
			return m, err
		}
		m, etag = nm, netag
		for _, s := range consumed {
			_ = f.st.Delete(ctx, s.Key)
		}
		f.s.log.Info("upload stored", "session", m.ID, "name", m.Name, "size", m.Total, "sha256", sum, "store", f.st.String())
	}
	if f.s.cfg.NoReply || m.ReplyType != "" {
		return m, nil
	}
	body, ctype, err := f.s.cfg.Reply(ctx, Upload{SessionID: m.ID, Name: m.Name, Path: f.st.String() + m.Name,
		Size: m.Total, SHA256: m.SHA256, ContentName: m.ContentName, Request: r})
	if err != nil {
		return m, appError(err)
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	if _, err := f.st.Put(ctx, fleetDataPrefix+key+"/reply", bytes.NewReader(body), int64(len(body)), "", objstore.Cond{}); err != nil {
		return m, err
	}
	nm, _, err := f.modify(ctx, key, m, etag, func(c *fleetMeta) error {
		if c.Gone != "" {
			return errGone
		}
		c.ReplyType = ctype
		return nil
	})
	if err != nil {
		return m, err
	}
	return nm, nil
}

func (f *fleet) endSession(w http.ResponseWriter, r *http.Request, cancel bool) {
	ctx := r.Context()
	sid := r.Header.Get("BITS-Session-Id")
	key, m, etag, status, err := f.lookup(r)
	if err != nil {
		f.storeFail(w, r, sid, "close-session", err)
		return
	}
	if m == nil {
		fail(w, status, bits.BG_E_SESSION_NOT_FOUND, contextServer, sid)
		return
	}
	why := map[bool]string{false: "closed", true: "cancelled"}[cancel]
	gm, _, err := f.modify(ctx, key, m, etag, func(c *fleetMeta) error {
		if c.Gone != "" {
			return errGone
		}
		c.Gone = why
		return nil
	})
	switch {
	case errors.Is(err, errGone):
		fail(w, http.StatusInternalServerError, bits.BG_E_SESSION_NOT_FOUND, contextServer, sid)
		return
	case err != nil:
		f.storeFail(w, r, sid, "close-session", err)
		return
	}
	m = gm
	f.cleanup(ctx, key, m)
	switch {
	case cancel && !m.Stored:
		f.s.log.Info("upload cancelled", "session", m.ID, "name", m.Name, "received", m.Received)
	case !m.Stored:
		f.s.log.Info("upload closed before its end: partial data discarded", "session", m.ID, "name", m.Name, "received", m.Received)
	default:
		f.s.log.Info("upload session closed", "session", m.ID, "name", m.Name, "cancelled", cancel)
	}
	reply(w, http.StatusOK, m.ID, nil)
}

func (f *fleet) serveReply(w http.ResponseWriter, r *http.Request, key string) {
	ctx := r.Context()
	m, _, err := f.load(ctx, key)
	if err != nil || m.Gone != "" || m.ReplyType == "" {
		http.NotFound(w, r)
		return
	}
	rc, o, err := f.st.Get(ctx, fleetDataPrefix+key+"/reply")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxReply))
	if err != nil {
		http.Error(w, "reply unreadable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", m.ReplyType)
	http.ServeContent(w, r, "", o.Modified, bytes.NewReader(b))
}

// sweep ends expired sessions and removes what dead instances left: the
// tombstones of unfinished clean-ups, multipart uploads and staged objects
// that no record names. Every instance sweeps; the conditional tombstone
// makes one of them end each session, and the rest is idempotent.
func (f *fleet) sweep(ctx context.Context) {
	now := f.s.now()
	metas, err := f.st.List(ctx, fleetMetaPrefix)
	if err != nil {
		f.s.log.Warn("sweep: cannot list the sessions", "err", err)
		return
	}
	live := map[string]bool{}
	for _, o := range metas {
		key := strings.TrimPrefix(o.Key, fleetMetaPrefix)
		live[key] = true
		if now.Sub(o.Modified) > f.s.cfg.SessionTimeout {
			f.expire(ctx, key, "expired", func(m *fleetMeta) bool { return now.Sub(m.Touched) > f.s.cfg.SessionTimeout })
		}
	}
	if empties, err := f.st.List(ctx, fleetEmptyPrefix); err == nil {
		for _, o := range empties {
			key := strings.TrimPrefix(o.Key, fleetEmptyPrefix)
			if now.Sub(o.Modified) > f.s.cfg.EmptySessionTimeout {
				f.expire(ctx, key, "expired: no byte received", func(m *fleetMeta) bool {
					return m.Received == 0 && m.NextPart == 0 && now.Sub(m.Touched) > f.s.cfg.EmptySessionTimeout
				})
			}
		}
	}
	if gone, err := f.st.List(ctx, fleetGonePrefix); err == nil {
		for _, o := range gone {
			key := strings.TrimPrefix(o.Key, fleetGonePrefix)
			if now.Sub(o.Modified) <= goneGrace {
				continue
			}
			if m, _, err := f.load(ctx, key); err == nil && m.Gone != "" {
				f.cleanup(ctx, key, m)
			} else if errors.Is(err, objstore.ErrNotFound) {
				f.removeLeftovers(ctx, key)
			}
		}
	}
	if data, err := f.st.List(ctx, fleetDataPrefix); err == nil {
		for _, o := range data {
			key, _, _ := strings.Cut(strings.TrimPrefix(o.Key, fleetDataPrefix), "/")
			if !live[key] && now.Sub(o.Modified) > orphanGrace {
				if _, serr := f.st.Stat(ctx, metaKey(key)); errors.Is(serr, objstore.ErrNotFound) {
					_ = f.st.Delete(ctx, o.Key)
				}
			}
		}
	}
	f.abortOrphans(ctx, now)
}

// abortOrphans aborts the multipart uploads older than orphanGrace that no
// session record names (an instance died between creating one and
// recording it).
func (f *fleet) abortOrphans(ctx context.Context, now time.Time) {
	ups, err := f.st.ListMultipart(ctx, "")
	if err != nil {
		f.s.log.Warn("sweep: cannot list the multipart uploads", "err", err)
		return
	}
	var old []objstore.Upload
	for _, u := range ups {
		if now.Sub(u.Initiated) > orphanGrace && !strings.HasPrefix(u.Key, StateDirName+"/") {
			old = append(old, u)
		}
	}
	if len(old) == 0 {
		return
	}
	metas, err := f.st.List(ctx, fleetMetaPrefix)
	if err != nil {
		return
	}
	named := map[string]bool{}
	for _, o := range metas {
		if m, _, err := f.load(ctx, strings.TrimPrefix(o.Key, fleetMetaPrefix)); err == nil {
			named[m.UploadID] = true
		} else if !errors.Is(err, objstore.ErrNotFound) {
			return // not sure: keep them
		}
	}
	for _, u := range old {
		if !named[u.ID] {
			f.s.log.Info("aborting a multipart upload no session names", "name", u.Key, "initiated", u.Initiated)
			_ = f.st.AbortMultipart(ctx, u.Key, u.ID)
		}
	}
}

// healthy checks that the store answers.
func (f *fleet) healthy(ctx context.Context) error {
	_, err := f.st.Stat(ctx, StateDirName+"/healthz")
	if errors.Is(err, objstore.ErrNotFound) {
		return nil
	}
	return err
}

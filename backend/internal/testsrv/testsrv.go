// Package testsrv is a misbehaving HTTP server for tests: each path serves a
// deterministic pseudo-random body and can break the protocol in one of the
// ways real servers, proxies and networks do.
package testsrv

import (
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// File describes one path. The zero value (plus Size) is a well-behaved
// static file: HEAD, single ranges, If-Range, ETag and Last-Modified.
type File struct {
	Size int64
	Seed uint64 // varies the content; paths already get distinct content

	Status     int   // every request gets this status (404, 403, ...)
	FailTimes  int   // the first FailTimes requests get FailStatus...
	FailStatus int   // ...(default 503), then the file is served
	CutAfter   int64 // a GET body is cut (connection dropped) after this many bytes
	CutOnce    bool  // only the first cut GET is cut; later ones are whole
	StallAfter int64 // a GET body stops (connection held open) after this many bytes
	NoRange    bool  // Range and If-Range are ignored: always 200 with the whole body
	NoHead     bool  // HEAD is answered 405
	WrongRange bool  // 206 replies carry a Content-Range whose start is off by one
	// NoLength: the size is never sent: no Content-Length (chunked GET, HEAD
	// without a length) and "*" as the total of a 206's Content-Range.
	NoLength bool
	// IgnoreIfRange: a GET with If-Range gets 200 and the whole body even
	// when the validator matches; a plain Range is honoured (seen behind
	// proxies and CDNs that do not implement If-Range).
	IgnoreIfRange bool
	// UnquotedETag sends the ETag without its quotes, as go-httpbin does; like
	// Go's http.ServeContent, an If-Range holding it then never matches (it
	// is not an entity-tag), while Last-Modified still does.
	UnquotedETag bool
	// ChangeAfter > 0: after this many requests (of any method) the content
	// changes: new bytes, new ETag and Last-Modified, same size.
	ChangeAfter  int
	RedirectTo   string // 302 to this path
	RedirectLoop bool   // 302 to itself, forever

	// RateLimit > 0 paces every GET body at this many bytes per second
	// (nginx's limit_rate: a limit per connection).
	RateLimit int64
	// SlowRequest > 0: that GET (1-based, counting GETs of this path) is
	// paced at SlowRate bytes per second instead: one slow connection.
	SlowRequest int
	SlowRate    int64
	// NoRangeAfter > 0: GETs after the first NoRangeAfter ignore Range and
	// If-Range (200 with the whole body, same version).
	NoRangeAfter int
	// WrongRangeAfter > 0: 206 replies to GETs after the first
	// WrongRangeAfter carry a Content-Range whose start is off by one.
	WrongRangeAfter int
	// MaxParallel > 0: a GET beyond this many in flight at once gets
	// ParallelStatus (default 503), as servers that refuse parallel
	// connections answer.
	MaxParallel    int
	ParallelStatus int
	// MergeRanges: a request of several ranges ("bytes=a-b,c-d") gets one
	// 206 covering from the lowest start to the highest end, as servers that
	// coalesce ranges answer.
	MergeRanges bool
}

// Request is one logged request.
type Request struct {
	Method  string
	Path    string
	Range   string // Range header as sent
	IfRange string // If-Range header as sent
	Status  int
	Sent    int64 // body bytes written to the client
	Version int   // content version served
	Host    string
	Proxied bool        // absolute-form target: the client used us as its proxy
	Header  http.Header // every request header, e.g. User-Agent, Authorization
}

// Server is an httptest.Server with per-path behaviours and a request log.
type Server struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string]*entry
	log   []*logEntry
	quit  chan struct{}
	conns atomic.Int64 // TCP connections accepted
}

type entry struct {
	File
	gets     int // GET requests so far
	inflight int // GETs being answered now
	requests int
	cuts     int
	version  int
	bodies   map[int][]byte
	etags    map[int]string // hashing a large body on every request is slow under -race
}

// New starts a plain HTTP server, closed when the test ends.
func New(t testing.TB) *Server { return start(t, false) }

// NewTLS starts an HTTPS server with a self-signed certificate (see Roots).
func NewTLS(t testing.TB) *Server { return start(t, true) }

func start(t testing.TB, tls bool) *Server {
	s := &Server{files: map[string]*entry{}, quit: make(chan struct{})}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Server-side noise (e.g. the handshake a test makes fail on purpose)
	// goes to the test log, not to stderr.
	s.Server.Config.ErrorLog = log.New(testWriter{t}, "testsrv: ", 0)
	s.Server.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	if tls {
		s.Server.StartTLS()
	} else {
		s.Server.Start()
	}
	t.Cleanup(func() {
		close(s.quit) // releases stalled handlers
		s.Server.CloseClientConnections()
		s.Server.Close()
	})
	return s
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Conns is the number of TCP connections accepted so far.
func (s *Server) Conns() int64 { return s.conns.Load() }

// Roots trusts the TLS server's certificate.
func (s *Server) Roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.Certificate())
	return p
}

// Handle registers (or replaces) a path such as "/a.bin".
func (s *Server) Handle(path string, f File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = &entry{File: f, bodies: map[int][]byte{}}
}

// URL is the absolute URL of path.
func (s *Server) URL(path string) string { return s.Server.URL + path }

// Body is the current content of path.
func (s *Server) Body(path string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.files[path]
	return e.body(path, e.version)
}

// Change makes path serve a new version (same size, new bytes and validators).
func (s *Server) Change(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path].version++
}

// Update edits the behaviour of path, keeping its content version and counters.
func (s *Server) Update(path string, edit func(*File)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	edit(&s.files[path].File)
}

// logEntry is a Request, complete once its handler has returned.
type logEntry struct {
	Request
	done bool
}

// Requests returns the log of path ("" for every path), oldest first. A
// client may see a whole body before the handler returns, so it waits (up
// to 2 s, e.g. for a stalled handler) until every logged request finished.
func (s *Server) Requests(path string) []Request {
	deadline := time.Now().Add(2 * time.Second)
	for {
		s.mu.Lock()
		var out []Request
		pending := false
		for _, e := range s.log {
			pending = pending || !e.done
			if e.done && (path == "" || e.Path == path) {
				out = append(out, e.Request)
			}
		}
		s.mu.Unlock()
		if !pending || time.Now().After(deadline) {
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ClearLog empties the request log.
func (s *Server) ClearLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// body returns (and caches) the bytes of one version; callers hold s.mu.
func (e *entry) body(path string, version int) []byte {
	if b, ok := e.bodies[version]; ok {
		return b
	}
	h := fnv.New64a()
	h.Write([]byte(path))
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[0:], h.Sum64())
	binary.LittleEndian.PutUint64(seed[8:], e.Seed)
	binary.LittleEndian.PutUint64(seed[16:], uint64(version))
	b := make([]byte, e.Size)
	_, _ = rand.NewChaCha8(seed).Read(b)
	e.bodies[version] = b
	return b
}

func (e *entry) etag(path string, version int) string {
	sum, ok := e.etags[version]
	if !ok {
		h := fnv.New64a()
		h.Write(e.body(path, version))
		sum = fmt.Sprintf("%x-v%d", h.Sum64(), version)
		if e.etags == nil {
			e.etags = map[int]string{}
		}
		e.etags[version] = sum
	}
	if e.UnquotedETag {
		return sum
	}
	return `"` + sum + `"`
}

// baseTime is the Last-Modified of version 0; each version adds a minute.
var baseTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func lastModified(version int) string {
	return baseTime.Add(time.Duration(version) * time.Minute).Format(http.TimeFormat)
}

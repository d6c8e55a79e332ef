// Package uploadserver is the server side of the BITS upload protocol
// (bits-reference §14, [MC-BUP]): an http.Handler that accepts BITS_POST
// packets (Ping, Create-Session, Fragment, Close-Session, Cancel-Session),
// keeps its sessions on disk so that they survive a restart, and stores each
// finished upload atomically under a safe name inside one directory. It can
// answer upload-reply jobs with a reply document.
package uploadserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"ferry/backend/uploadserver/objstore"
)

// Protocol is the GUID of the BITS 1.5 upload protocol, the only one.
const Protocol = "{7df0354d-249b-430f-820d-3d2a9bef4931}"

// Method is the verb of every upload packet.
const Method = "BITS_POST"

// Defaults of Config.
const (
	DefaultMaxSessions = 50 // IIS' BITSNumberOfSessionsLimit
	// DefaultEvictIdle: when the table is full, a session idle this long
	// gives way to a new one. A BITS client sends its next fragment as soon
	// as the last is acknowledged, so an uploading session is never idle
	// this long; one that is has stalled or was abandoned.
	DefaultEvictIdle = 5 * time.Second
	// DefaultBodyTimeout: a request's headers, and the start of its body,
	// must arrive within this; then the body must keep DefaultMinBodyRate.
	DefaultBodyTimeout = 30 * time.Second
	// DefaultMinBodyRate (bytes per second, on average over a body): far
	// below any real link, far above a connection held open on purpose.
	DefaultMinBodyRate = 1024
	// DefaultMaxConnections caps the connections served at once, well
	// below the usual limit of 1024 open files.
	DefaultMaxConnections = 256
	// DefaultSessionTimeout: IIS keeps an idle session 14 days
	// (BITSSessionTimeout); a day keeps a suspended job's partial upload
	// over a night without holding abandoned ones for two weeks.
	DefaultSessionTimeout = 24 * time.Hour
	// DefaultEmptySessionTimeout: a session that never received a byte
	// costs the client nothing to make again (it sees
	// BG_E_SESSION_NOT_FOUND and creates a new one).
	DefaultEmptySessionTimeout = 5 * time.Minute
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
	// Store, if set, keeps the sessions and the finished uploads in an
	// object store instead of Dir (fleet mode): instances that share it
	// serve any packet of any session. Quota and the free space of a disk
	// do not apply there; MaxSessions counts the sessions in the store.
	Store objstore.Store
	// MaxSize is the largest upload accepted, in bytes (0: no limit).
	MaxSize int64
	// MaxSessions is how many sessions may be open at once (0: DefaultMaxSessions).
	MaxSessions int
	// EvictIdle: when MaxSessions are open, the session idle longest (then
	// the one with the fewest bytes) gives way to a new one, if it has been
	// idle at least this long (0: DefaultEvictIdle). Limits follow what a
	// session costs, not who sends it: an address can be many clients (a
	// NAT, a proxy) and one client can have many addresses (IPv6).
	EvictIdle time.Duration
	// Quota bounds the declared sizes of all unfinished uploads together,
	// reserved at each one's first fragment (0: only the free space of Dir
	// bounds them).
	Quota int64
	// BodyTimeout bounds how long a request's headers, and its body's
	// first bytes, may take (0: DefaultBodyTimeout); after it, the body
	// must have come at MinBodyRate on average, or the request fails and
	// the connection closes.
	BodyTimeout time.Duration
	// MinBodyRate is that rate in bytes per second (0: DefaultMinBodyRate).
	MinBodyRate int64
	// MaxConnections caps the connections Serve serves at once (0:
	// DefaultMaxConnections); beyond it, idle keep-alive connections are
	// closed to make room, or a new one waits.
	MaxConnections int
	// SessionTimeout expires a session with no packet for this long
	// (0: DefaultSessionTimeout).
	SessionTimeout time.Duration
	// EmptySessionTimeout expires a session that has not received a byte
	// for this long (0: DefaultEmptySessionTimeout).
	EmptySessionTimeout time.Duration
	// AllowOverwrite lets an upload replace an existing file (IIS'
	// BITSAllowOverwrites); otherwise Create-Session answers 409.
	AllowOverwrite bool
	// Reply makes the reply of an upload, sent to the client as the
	// BITS-Reply-URL of the last fragment's Ack (nil: DefaultReply).
	Reply ReplyFunc
	// NoReply sends no BITS-Reply-URL at all (a plain upload server).
	NoReply bool
	// Logger receives one line per session event (nil: slog.Default()).
	Logger *slog.Logger
}

// Server implements the BITS upload protocol as an http.Handler.
type Server struct {
	cfg     Config
	root    *os.Root // Config.Dir: every file operation stays inside it
	state   *os.Root // Dir/.bits-sessions
	fleet   *fleet   // fleet mode (Config.Store); root and state are nil then
	metrics *metrics
	log     *slog.Logger
	now     func() time.Time
	// diskFree is the space left for Dir (a variable for tests).
	diskFree func() (int64, error)
	// beforePlace, when set, runs just before a finished upload is moved
	// into place (tests of a crash at that moment).
	beforePlace func(key string)

	mu       sync.Mutex
	sessions map[string]*session // by session key (uuid, lower case, no braces)
	setAside []SetAside          // records that could not be read at start
}

// New opens (creating it if needed) cfg.Dir and the sessions recorded in it.
func New(cfg Config) (*Server, error) {
	if cfg.Dir == "" && cfg.Store == nil {
		return nil, errors.New("uploadserver: no directory")
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.EvictIdle <= 0 {
		cfg.EvictIdle = DefaultEvictIdle
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.MinBodyRate <= 0 {
		cfg.MinBodyRate = DefaultMinBodyRate
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.EmptySessionTimeout <= 0 {
		cfg.EmptySessionTimeout = DefaultEmptySessionTimeout
	}
	if cfg.Reply == nil {
		cfg.Reply = DefaultReply
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Store != nil {
		s := &Server{cfg: cfg, log: cfg.Logger, now: time.Now, sessions: map[string]*session{}}
		s.metrics = newMetrics(func() float64 { return float64(s.OpenSessions()) })
		s.fleet = &fleet{s: s, st: timedStore{cfg.Store, s.metrics.storeTime, s.metrics.written}}
		return s, nil
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
	s.metrics = newMetrics(func() float64 { return float64(s.OpenSessions()) })
	s.diskFree = func() (int64, error) { return diskFree(cfg.Dir) }
	if err := s.load(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the directory handles (the handler must no longer run).
func (s *Server) Close() error {
	if s.fleet != nil {
		return nil
	}
	s.state.Close()
	return s.root.Close()
}

// OpenSessions counts the sessions the server holds (in fleet mode: the
// sessions in the store, -1 if it cannot be listed).
func (s *Server) OpenSessions() int {
	if s.fleet != nil {
		metas, err := s.fleet.st.List(context.Background(), fleetMetaPrefix)
		if err != nil {
			return -1
		}
		return len(metas)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// ServeHTTP implements http.Handler: BITS_POST packets on any path, and GET
// or HEAD of reply URLs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		r.Body = s.pace(w, r.Body)
	}
	switch {
	case r.Method == Method:
		s.observe(w, r, s.packet)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && isReplyPath(r.URL.Path):
		s.serveReply(w, r)
	case r.Method == http.MethodGet && r.URL.Path == HealthPath:
		s.serveHealth(w, r)
	case r.Method == http.MethodGet && r.URL.Path == MetricsPath:
		s.metrics.handler.ServeHTTP(w, r)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		http.NotFound(w, r)
	default:
		w.Header().Set("Allow", Method)
		http.Error(w, "only BITS_POST (the BITS upload protocol) is served here", http.StatusMethodNotAllowed)
	}
}

// Serve answers on l until ctx ends, then shuts down gracefully (up to 10 s
// for packets in flight). Expired sessions are swept every minute (more
// often with shorter timeouts) and before each new session. At most
// MaxConnections connections are served at once.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	ll := newLimitListener(l, s.cfg.MaxConnections)
	hs := &http.Server{Handler: s, ReadHeaderTimeout: s.cfg.BodyTimeout, IdleTimeout: 2 * time.Minute,
		ConnState: ll.track, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	l = ll
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	tick := time.NewTicker(s.sweepInterval())
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("uploadserver: %w", err)
		case <-tick.C:
			if s.fleet != nil {
				s.fleet.sweep(ctx)
			} else {
				s.sweep()
			}
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

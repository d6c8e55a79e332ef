// Package web is `ferry web`: the desktop window's interface served to a
// browser, against the running engine. It serves the same built frontend
// that the window embeds, and relays the same operations (POST /v1/call, the
// ops table) and the engine's job changes (GET /v1/events, Server-Sent
// Events, coalesced as in the window) over the control API. Only the
// frontend's transport module differs between the two.
//
// It is a client of the engine like any command, and it guards what it
// opens: it listens on loopback unless told otherwise; every API request
// and event stream needs the random token printed in the URL, which the page
// takes into its tab's sessionStorage and sends in a header (never a cookie:
// cookies ignore ports, so every server on 127.0.0.1 would get it); the Host
// header must be an IP address or localhost, so that a web page cannot reach
// it through DNS rebinding; and at most MaxStreams event streams are open at
// once, so that a runaway client cannot grow it without bound.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"ferry/backend/api"
)

// Assets is the built frontend (the contents of frontend/dist). The main
// package sets it from the files it embeds for the window, so that the
// browser gets exactly the window's UI; nil serves a page saying so.
var Assets fs.FS

// DefaultAddr is where `ferry web` listens without --listen: loopback, on a
// port the system picks (the printed URL names it).
const DefaultAddr = "127.0.0.1:0"

// DefaultMaxStreams is how many event streams may be open at once: one per
// open tab, so far more than a person uses, yet each holds a subscription
// to the engine and its buffers, which a runaway client must not multiply.
const DefaultMaxStreams = 32

// Options configure a Server.
type Options struct {
	Addr    string // host:port; "" is DefaultAddr
	Engine  Engine
	Assets  fs.FS  // nil: the package's Assets
	Token   string // "" makes a random one
	Version string // shown by the UI
	Log     *slog.Logger
	// MaxStreams caps the open event streams; 0 is DefaultMaxStreams.
	MaxStreams int
}

// Server is one `ferry web`.
type Server struct {
	eng    Engine
	assets fs.FS
	meta   Meta
	token  string
	log    *slog.Logger
	// streams holds one slot per open event stream: a full channel refuses
	// the next one.
	streams chan struct{}
	refused struct {
		sync.Mutex
		n      int       // refused streams not logged yet
		logged time.Time // when they were last logged
	}

	ln   net.Listener
	hs   *http.Server
	url  string
	done chan struct{} // closed on shutdown: event streams end
	once sync.Once
	// eventWrite bounds each write of an event stream
	// (api.EventWriteTimeout; tests lower it).
	eventWrite atomic.Int64
}

// Listen opens the address and prepares the server; Serve runs it.
func Listen(o Options) (*Server, error) {
	if o.Engine == nil {
		return nil, errors.New("web: no engine")
	}
	addr := o.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s, err := newServer(o, ln.Addr().(*net.TCPAddr))
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.ln = ln
	return s, nil
}

// newServer builds the server for a listener at at (tests use it without one).
func newServer(o Options, at *net.TCPAddr) (*Server, error) {
	token := o.Token
	if token == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("web: make a token: %w", err)
		}
		token = hex.EncodeToString(b)
	}
	assets := o.Assets
	if assets == nil {
		assets = Assets
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	maxStreams := o.MaxStreams
	if maxStreams <= 0 {
		maxStreams = DefaultMaxStreams
	}
	s := &Server{
		eng: o.Engine, assets: assets, meta: BuildMeta(o.Version), token: token,
		log: log, done: make(chan struct{}), streams: make(chan struct{}, maxStreams),
	}
	s.eventWrite.Store(int64(api.EventWriteTimeout))
	host := at.IP
	if host == nil || host.IsUnspecified() {
		// Listening everywhere: the URL to print is still this machine's.
		host = net.IPv4(127, 0, 0, 1)
	}
	s.url = (&url.URL{Scheme: "http", Host: net.JoinHostPort(host.String(), strconv.Itoa(at.Port)), Path: "/",
		RawQuery: url.Values{"token": {token}}.Encode()}).String()
	s.hs = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Closed tabs and aborted streams leave keep-alive connections
		// behind; they go after a while rather than never.
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// URL is the address to open, token included.
func (s *Server) URL() string { return s.url }

// Addr is the address listened on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve answers until ctx ends, then closes the event streams and stops.
func (s *Server) Serve(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.hs.Serve(s.ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	s.once.Do(func() { close(s.done) })
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.hs.Shutdown(sctx); err != nil {
		s.hs.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Handler is the whole site behind its guards.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /v1/meta", s.api(s.handleMeta))
	mux.Handle("POST /v1/call", s.api(s.handleCall))
	mux.Handle("GET /v1/events", s.api(s.handleEvents))
	mux.Handle("GET /", s.static())
	return s.guard(mux)
}

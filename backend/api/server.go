package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"ferry/backend/api/wire"
	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/ops"
)

// Server serves the control API for one engine.
type Server struct {
	env   *ops.Env
	hello Hello
	log   *slog.Logger
	hs    *http.Server
	done  chan struct{} // closed by Close: event streams end
	once  sync.Once
	// releasing: a releaseMemory collection is running.
	releasing atomic.Bool
	bigAnswer atomic.Int64 // bigAnswer; tests lower it
	// eventWrite bounds each write of an event stream (EventWriteTimeout;
	// tests lower it).
	eventWrite atomic.Int64
}

// EventWriteTimeout bounds one write to an event stream's reader. A reader
// that stops reading fills the socket's buffers and the write blocks; past
// this the stream ends and its goroutine and subscription are released,
// rather than held until the reader closes the connection, which it may
// never do.
const EventWriteTimeout = 30 * time.Second

type peerKey struct{}

// peer is who is on the other end of a connection.
type peer struct {
	uid int
	err error
}

// NewServer returns a server of env's operations.
func NewServer(env *ops.Env, hello Hello, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{env: env, hello: hello, log: log, done: make(chan struct{})}
	s.bigAnswer.Store(bigAnswer)
	s.eventWrite.Store(int64(EventWriteTimeout))
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathHello, s.handleHello)
	mux.HandleFunc("POST "+PathCall, s.handleCall)
	mux.HandleFunc("GET "+PathEvents, s.handleEvents)
	s.hs = &http.Server{
		Handler:           s.checkPeer(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			uid, err := peerUID(c)
			return context.WithValue(ctx, peerKey{}, peer{uid: uid, err: err})
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s
}

// Serve answers on ln until Close; it returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	err := s.hs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close ends event streams, lets calls in progress finish (until ctx ends)
// and closes the listener.
func (s *Server) Close(ctx context.Context) error {
	s.once.Do(func() { close(s.done) })
	if err := s.hs.Shutdown(ctx); err != nil {
		s.hs.Close()
		return fmt.Errorf("stop the control API: %w", err)
	}
	return nil
}

// checkPeer refuses every process that does not run as the engine's user.
// The socket's mode already keeps others out; this holds even when someone
// loosened the modes (or the socket is an abstract one, which has none).
func (s *Server) checkPeer(next http.Handler) http.Handler {
	me := os.Getuid()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := r.Context().Value(peerKey{}).(peer)
		if p.err != nil || p.uid != me {
			msg := fmt.Sprintf("this Ferry engine belongs to uid %d; a process of uid %d may not use it", me, p.uid)
			if p.err != nil {
				msg = fmt.Sprintf("this Ferry engine could not tell who is calling (%v), so it refuses", p.err)
			}
			s.log.Warn("refused a caller of another user", "uid", p.uid, "err", p.err)
			wire.WriteError(w, bits.Errorf(bits.E_ACCESSDENIED, "%s", msg))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleHello(w http.ResponseWriter, _ *http.Request) {
	wire.WriteJSON(w, http.StatusOK, s.hello)
}

func (s *Server) handleCall(w http.ResponseWriter, r *http.Request) {
	var req CallRequest
	if err := wire.ReadCall(w, r, &req); err != nil {
		s.log.Info("refused a call", "code", bits.CodeOf(err).Name())
		wire.WriteError(w, err)
		return
	}
	res, err := ops.Invoke(r.Context(), s.env, req.Op, req.Request)
	// Arguments are never logged: one of them may be a password.
	if err != nil {
		s.log.Info("call failed", "op", req.Op, "code", bits.CodeOf(err).Name())
		wire.WriteError(w, err)
		return
	}
	s.log.Debug("call", "op", req.Op)
	if n := wire.WriteResult(w, res); n >= s.bigAnswer.Load() {
		s.releaseMemory()
	}
}

// bigAnswer is the size of an answer after which the engine gives its
// memory back to the OS: rendering one leaves about its size in garbage
// (a verbose list of 100,000 files, 30 MB), which would otherwise stay
// resident until the heap next shrinks. One collection per such answer
// costs a fraction of rendering it.
const bigAnswer = 4 << 20

// releaseMemory runs a collection that returns free memory to the OS, in
// the background, one at a time.
func (s *Server) releaseMemory() {
	if s.releasing.CompareAndSwap(false, true) {
		go func() {
			defer s.releasing.Store(false)
			debug.FreeOSMemory()
		}()
	}
}

// handleEvents streams every engine event as one JSON line. The headers go
// out once the subscription exists, so a client that has them misses nothing
// that happens afterwards. A reader that falls engine.SubscriberBuffer
// events behind gets a last "overflow" line and the stream ends: it lists
// the jobs again and subscribes anew.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		wire.WriteError(w, bits.Errorf(bits.E_NOTIMPL, "streaming is not available"))
		return
	}
	evs, unsubscribe := s.env.Manager.Subscribe()
	defer unsubscribe()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	rc := http.NewResponseController(w)
	deadline := func() { _ = rc.SetWriteDeadline(time.Now().Add(time.Duration(s.eventWrite.Load()))) }
	deadline()
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	bw := bufio.NewWriter(w)
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				return
			}
			b, err := wire.EventLine(ev)
			if err != nil {
				s.log.Error("encode event", "err", err)
				continue
			}
			deadline()
			if _, err := bw.Write(b); err != nil || bw.Flush() != nil || rc.Flush() != nil {
				s.log.Info("ended an event stream: its reader stopped reading or went away")
				return
			}
			if ev.Kind == engine.EventOverflow {
				s.log.Warn("dropped an event reader that fell behind", "buffer", engine.SubscriberBuffer)
				return
			}
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

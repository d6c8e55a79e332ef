package web

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"ferry/backend/api"
	"ferry/backend/api/wire"
	"ferry/backend/bits"
)

// keepAlive is how often an idle event stream sends a comment, so that
// proxies and browsers do not time it out.
const keepAlive = 20 * time.Second

func (s *Server) handleMeta(w http.ResponseWriter, _ *http.Request) {
	wire.WriteJSON(w, http.StatusOK, s.meta)
}

// handleCall relays one operation to the engine, unchanged: the engine
// checks it against the ops table as it checks the CLI's calls.
func (s *Server) handleCall(w http.ResponseWriter, r *http.Request) {
	var req api.CallRequest
	if err := wire.ReadCall(w, r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	raw, err := s.eng.Call(r.Context(), req.Op, req.Request)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	wire.WriteJSON(w, http.StatusOK, wire.Reply{Result: raw})
}

// handleEvents streams job changes as Server-Sent Events: "ready" once the
// engine has subscribed (the UI lists the jobs only then, so no change
// falls between its list and its stream), then one "job" event with the
// job's new state per change, coalesced to MinPushInterval per job (Follow,
// as in the window). When the engine goes away, or drops this stream for
// falling behind (an "overflow" event first), the stream ends and the
// page reconnects by itself; each "ready" tells the UI to list again.
//
// At most cap(s.streams) streams are open at once; past that the answer is
// 429, before anything is asked of the engine, and the page tries again.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	_, ok := w.(http.Flusher)
	if !ok {
		wire.WriteError(w, bits.Errorf(bits.E_NOTIMPL, "streaming is not available"))
		return
	}
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		s.warnRefusedStream()
		w.Header().Set("Retry-After", "2")
		wire.WriteJSON(w, http.StatusTooManyRequests, wire.Reply{Error: wire.Body(bits.Errorf(bits.E_FAIL,
			"%d event streams are open already, the most ferry web serves; close other Ferry tabs", cap(s.streams)))})
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	stream, err := s.eng.Subscribe(ctx)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	// Closing the stream is what unblocks its reader when we stop first.
	defer stream.Close()
	context.AfterFunc(ctx, func() { stream.Close() })

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	var mu sync.Mutex // the writer is shared with the keep-alive
	closed := false
	rc := http.NewResponseController(w)
	write := func(b []byte) {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return
		}
		// A browser that stops reading (a frozen tab, a client that holds
		// the connection on purpose) fills the socket and the write
		// blocks: past the deadline the stream ends and its slot, its
		// subscription and these goroutines are released.
		_ = rc.SetWriteDeadline(time.Now().Add(time.Duration(s.eventWrite.Load())))
		if _, err := w.Write(b); err != nil || rc.Flush() != nil {
			cancel()
			return
		}
	}
	write([]byte("retry: 1000\n\nevent: ready\ndata: {}\n\n"))

	go func() {
		t := time.NewTicker(keepAlive)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				write([]byte(": keep-alive\n\n"))
			case <-ctx.Done():
				return
			}
		}
	}()
	err = Follow(ctx, stream, MinPushInterval, func(j bits.JobInfo) {
		b, err := wire.Marshal(j)
		if err != nil {
			s.log.Error("web: encode a job", "err", err)
			return
		}
		write(append(append([]byte("event: job\ndata: "), b...), '\n', '\n'))
	})
	if errors.Is(err, ErrOverflow) {
		s.log.Warn("web: a browser fell behind the engine's events; it reconnects and lists again")
		write([]byte("event: overflow\ndata: {}\n\n"))
	}
	cancel()
	// The keep-alive goroutine may still be about to write: nothing may
	// touch w once this handler has returned.
	mu.Lock()
	closed = true
	mu.Unlock()
}

// warnRefusedStream logs refused event streams, at most once per
// refusedLogEvery with how many there were: a runaway client would
// otherwise fill the log as fast as it retries.
func (s *Server) warnRefusedStream() {
	s.refused.Lock()
	defer s.refused.Unlock()
	s.refused.n++
	if now := time.Now(); now.Sub(s.refused.logged) >= refusedLogEvery {
		s.log.Warn("web: refused event streams: too many open", "max", cap(s.streams), "refused", s.refused.n)
		s.refused.n, s.refused.logged = 0, now
	}
}

// refusedLogEvery is how often refused event streams are logged at most.
const refusedLogEvery = 10 * time.Second

// static serves the built frontend. index.html is never cached, so a new
// binary's UI is picked up at once; the hashed assets may be.
func (s *Server) static() http.Handler {
	if s.assets == nil {
		return http.HandlerFunc(noFrontend)
	}
	if _, err := fs.Stat(s.assets, "index.html"); err != nil {
		return http.HandlerFunc(noFrontend)
	}
	files := http.FileServerFS(s.assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || r.URL.Path == "/index.html" {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}

func noFrontend(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("<!doctype html><meta charset=utf-8><title>Ferry</title>" +
		"<p>This ferry binary was built without its user interface (run <code>make build</code>).</p>\n"))
}

package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"ferry/backend/api"
	"ferry/backend/bits"
)

// maxBody bounds a call's body, as the control API does.
const maxBody = 1 << 20

// keepAlive is how often an idle event stream sends a comment, so that
// proxies and browsers do not time it out.
const keepAlive = 20 * time.Second

// callReply is the control API's answer shape: the UI reads one format
// whichever transport carried it.
type callReply struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *api.ErrorBody  `json:"error,omitempty"`
}

func errorOf(err error) *api.ErrorBody {
	var be *bits.Error
	if errors.As(err, &be) {
		return &api.ErrorBody{Code: be.Code, Name: be.Code.Name(), Message: be.Msg}
	}
	return &api.ErrorBody{Code: bits.E_FAIL, Name: bits.E_FAIL.Name(), Message: err.Error()}
}

func statusOf(code bits.HRESULT) int {
	switch code {
	case bits.BG_E_NOT_FOUND:
		return http.StatusNotFound
	case bits.E_ACCESSDENIED:
		return http.StatusForbidden
	case bits.E_FAIL:
		return http.StatusBadGateway // the engine failed or could not be reached
	}
	return http.StatusBadRequest
}

// marshal encodes without HTML escaping ("<local>" stays readable) and
// without the encoder's trailing newline (an SSE data line must be one line).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"0x80004005","name":"E_FAIL","message":"could not encode the answer"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func (s *Server) handleMeta(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.meta)
}

// handleCall relays one operation to the engine, unchanged: the engine
// checks it against the ops table as it checks the CLI's calls.
func (s *Server) handleCall(w http.ResponseWriter, r *http.Request) {
	var req api.CallRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
		e := bits.Errorf(bits.E_INVALIDARG, "the request is not a valid call: %v", err)
		writeJSON(w, http.StatusBadRequest, callReply{Error: errorOf(e)})
		return
	}
	raw, err := s.eng.Call(r.Context(), req.Op, req.Request)
	if err != nil {
		eb := errorOf(err)
		writeJSON(w, statusOf(eb.Code), callReply{Error: eb})
		return
	}
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	writeJSON(w, http.StatusOK, callReply{Result: raw})
}

// handleEvents streams job changes as Server-Sent Events: "ready" once the
// engine has subscribed (the UI lists the jobs only then, so no change
// falls between its list and its stream), then one "job" event with the
// job's new state per change, coalesced to MinPushInterval per job. When
// the engine goes away the stream ends and the browser reconnects by itself;
// each "ready" tells the UI to list again.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeJSON(w, http.StatusInternalServerError, callReply{Error: errorOf(bits.Errorf(bits.E_NOTIMPL, "streaming is not available"))})
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
		eb := errorOf(err)
		writeJSON(w, http.StatusServiceUnavailable, callReply{Error: eb})
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
	write := func(b []byte) {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return
		}
		if _, err := w.Write(b); err != nil {
			cancel()
			return
		}
		fl.Flush()
	}
	write([]byte("retry: 1000\n\nevent: ready\ndata: {}\n\n"))

	changes := make(chan bits.JobInfo)
	go func() {
		defer close(changes)
		for {
			ev, _, err := stream.Next()
			if err != nil {
				return
			}
			select {
			case changes <- ev.Job:
			case <-ctx.Done():
				return
			}
		}
	}()
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
	Coalesce(ctx, changes, MinPushInterval, func(j bits.JobInfo) {
		b, err := marshal(j)
		if err != nil {
			s.log.Error("web: encode a job", "err", err)
			return
		}
		write(append(append([]byte("event: job\ndata: "), b...), '\n', '\n'))
	})
	cancel()
	// The keep-alive goroutine may still be about to write: nothing may
	// touch w once this handler has returned.
	mu.Lock()
	closed = true
	mu.Unlock()
}

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

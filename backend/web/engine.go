package web

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"ferry/backend/api"
	"ferry/backend/api/wire"
	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/ops"
)

// Engine is what the browser UI needs of the engine: its operations and its
// events. ClientEngine is the real one (the control API over FERRY_HOME's
// socket); tests use fakes.
type Engine interface {
	Call(ctx context.Context, op string, r ops.Request) (json.RawMessage, error)
	// Subscribe returns once the engine has subscribed, so that every later
	// change arrives on the stream.
	Subscribe(ctx context.Context) (Stream, error)
}

// Stream is a subscription to the engine's events (*api.EventStream).
type Stream interface {
	Next() (ev engine.Event, raw []byte, err error)
	Close() error
}

// ClientEngine reaches the engine through the control API. When no engine
// answers, reconnect (if not nil) is called — the CLI passes its autostart,
// as every command starts an engine when none runs — and the request is
// tried once more.
func ClientEngine(c *api.Client, reconnect func(context.Context) error) Engine {
	return &clientEngine{c: c, reconnect: reconnect}
}

type clientEngine struct {
	c         *api.Client
	reconnect func(context.Context) error
}

func (e *clientEngine) retry(ctx context.Context, err error) bool {
	ce, ok := api.AsConnectError(err)
	return ok && ce.NoEngine() && e.reconnect != nil && e.reconnect(ctx) == nil
}

func (e *clientEngine) Call(ctx context.Context, op string, r ops.Request) (json.RawMessage, error) {
	raw, err := e.c.Call(ctx, op, r)
	if err != nil && e.retry(ctx, err) {
		raw, err = e.c.Call(ctx, op, r)
	}
	return raw, err
}

func (e *clientEngine) Subscribe(ctx context.Context) (Stream, error) {
	s, err := e.c.Events(ctx)
	if err != nil && e.retry(ctx, err) {
		s, err = e.c.Events(ctx)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// LocalEngine runs the operations in this process: the desktop window's
// engine. Its calls and events are exactly the control API's, without the
// socket.
func LocalEngine(env *ops.Env) Engine { return localEngine{env} }

type localEngine struct{ env *ops.Env }

func (e localEngine) Call(ctx context.Context, op string, r ops.Request) (json.RawMessage, error) {
	res, err := ops.Invoke(ctx, e.env, op, r)
	if err != nil {
		return nil, err
	}
	return wire.Result(res)
}

func (e localEngine) Subscribe(context.Context) (Stream, error) {
	if e.env == nil || e.env.Manager == nil {
		return nil, bits.Errorf(bits.ERROR_SERVICE_NOT_ACTIVE, "no engine")
	}
	evs, stop := e.env.Manager.Subscribe()
	return &localStream{evs: evs, stop: sync.OnceFunc(stop)}, nil
}

type localStream struct {
	evs  <-chan engine.Event
	stop func()
}

func (s *localStream) Next() (engine.Event, []byte, error) {
	ev, ok := <-s.evs
	if !ok {
		return engine.Event{}, nil, api.ErrStreamEnded
	}
	return ev, nil, nil
}

func (s *localStream) Close() error { s.stop(); return nil }

// ErrOverflow says that the engine dropped a subscriber that fell behind:
// list the jobs again and subscribe anew.
var ErrOverflow = errors.New("fell behind the engine's events")

// Follow is how the window and the browser UI receive job changes: it
// passes each change on stream to emit, coalesced to interval per job, until
// ctx ends (nil), the stream ends (its error) or the engine drops it for
// falling behind (ErrOverflow). emit runs on the caller's goroutine. The
// caller closes the stream.
func Follow(ctx context.Context, stream Stream, interval time.Duration, emit func(bits.JobInfo)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes := make(chan bits.JobInfo)
	ended := make(chan error, 1)
	go func() {
		defer close(changes)
		for {
			ev, _, err := stream.Next()
			if err == nil && ev.Kind == engine.EventOverflow {
				err = ErrOverflow
			}
			if err != nil {
				ended <- err
				return
			}
			select {
			case changes <- ev.Job:
			case <-ctx.Done():
				return
			}
		}
	}()
	Coalesce(ctx, changes, interval, emit)
	if ctx.Err() != nil {
		return nil // the reader may still block in Next until the caller closes the stream
	}
	return <-ended
}

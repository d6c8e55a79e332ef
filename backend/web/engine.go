package web

import (
	"context"
	"encoding/json"

	"ferry/backend/api"
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

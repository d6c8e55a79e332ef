package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/ops"
	"ferry/backend/store"
	"ferry/backend/transfer"
)

// serve runs a real engine and its API on a socket at path.
func serve(t *testing.T, path string) (*Client, *Server) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := engine.New(engine.Config{Store: st, Drivers: []transfer.Driver{transfer.NewFile()}, Owner: "tester", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(&ops.Env{Manager: m}, Hello{Version: "test", Owner: "tester"}, log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close(context.Background())
		if err := <-served; err != nil {
			t.Error(err)
		}
		m.Close()
		st.Close()
	})
	cl := NewClient(path)
	t.Cleanup(cl.Close)
	return cl, srv
}

func TestCallsErrorsAndEvents(t *testing.T) {
	cl, srv := serve(t, filepath.Join(t.TempDir(), "ferry.sock"))
	ctx := context.Background()
	h, err := cl.Hello(ctx)
	if err != nil || h.Version != "test" {
		t.Fatalf("Hello = %+v, %v", h, err)
	}
	evs, err := cl.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var in bits.JobInfo
	if err := cl.CallInto(ctx, "create", ops.Request{Args: []string{"a <b>"}}, &in); err != nil || in.State != bits.StateSuspended {
		t.Fatalf("create = %+v, %v", in, err)
	}
	ev, raw, err := evs.Next()
	if err != nil || ev.Kind != engine.EventCreated || ev.Job.ID != in.ID || !strings.Contains(string(raw), `"a <b>"`) {
		t.Fatalf("event %+v %s %v", ev, raw, err)
	}
	_, err = cl.Info(ctx, "nosuchjob")
	var be *bits.Error
	if !errors.As(err, &be) || be.Code != bits.BG_E_NOT_FOUND || !strings.Contains(be.Msg, "nosuchjob") {
		t.Fatalf("Info(nosuchjob) = %v", err)
	}
	if _, err := cl.Call(ctx, "getstate", ops.Request{}); bits.CodeOf(err) != bits.E_INVALIDARG {
		t.Fatalf("bad arity = %v", err)
	}
	raw2, err := cl.Call(ctx, "resume", ops.Request{Args: []string{in.ID}})
	if bits.CodeOf(err) != bits.BG_E_EMPTY || raw2 != nil {
		t.Fatalf("resume empty = %s, %v", raw2, err)
	}
	// Closing the server ends the stream.
	done := make(chan error, 1)
	go func() {
		for {
			if _, _, err := evs.Next(); err != nil {
				done <- err
				return
			}
		}
	}()
	srv.Close(ctx)
	select {
	case err := <-done:
		if !errors.Is(err, ErrStreamEnded) {
			t.Fatalf("stream ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream outlived the server")
	}
}

func TestNoEngine(t *testing.T) {
	cl := NewClient(filepath.Join(t.TempDir(), "ferry.sock"))
	_, err := cl.Hello(context.Background())
	ce, ok := AsConnectError(err)
	if !ok || !ce.NoEngine() || ce.Denied() {
		t.Fatalf("Hello without an engine = %v", err)
	}
}

package api

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/localsock"
	"ferry/backend/ops"
)

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// A serial client sends its calls one after another on one connection,
// engine errors included, and an event stream on it gives the connection
// back when closed.
func TestSerialClientKeepsOneConnection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.sock")
	_, srv := serve(t, path)
	// serve's listener is taken; a second one on another path counts.
	path2 := filepath.Join(t.TempDir(), "counted.sock")
	ln, err := Listen(path2)
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	go srv.hs.Serve(cl)

	c := NewSerialClient(path2)
	defer c.Close()
	ctx := context.Background()
	var job bits.JobInfo
	if err := c.CallInto(ctx, "create", ops.Request{Args: []string{"serial"}}, &job); err != nil {
		t.Fatal(err)
	}
	id := job.ID
	if _, err := c.Call(ctx, "getstate", ops.Request{Args: []string{"no-such-job"}}); bits.CodeOf(err) != bits.BG_E_NOT_FOUND {
		t.Fatalf("an unknown job: %v", err)
	}
	evs, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	evs.Close()
	raw, err := c.Call(ctx, "getstate", ops.Request{Args: []string{id}})
	if err != nil || string(raw) != `"SUSPENDED"` {
		t.Fatalf("getstate = %s, %v", raw, err)
	}
	if n := cl.n.Load(); n > 2 {
		t.Errorf("%d connections for four requests, want one (two: the closed event stream's and the rest)", n)
	}
}

// An engine that accepts and never answers does not hang the caller past
// its context's deadline, nor past a cancellation.
func TestSerialClientHonoursTheContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.sock")
	ln, err := localsock.Listen(SocketAddr(path))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // read nothing, answer nothing
		}
	}()
	c := NewSerialClient(path)
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Call(ctx, "list", ops.Request{}); err == nil {
		t.Fatal("a call to a silent engine succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the call gave up after %v, its deadline was 300 ms", d)
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel2)
	start = time.Now()
	if _, err := c.Call(ctx2, "list", ops.Request{}); err == nil {
		t.Fatal("a cancelled call succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the cancelled call returned after %v", d)
	}
}

// Nobody listening reads as no engine, as with the pooled client.
func TestSerialClientNoEngine(t *testing.T) {
	c := NewSerialClient(filepath.Join(t.TempDir(), "none.sock"))
	_, err := c.Call(context.Background(), "list", ops.Request{})
	ce, ok := AsConnectError(err)
	if !ok || !ce.NoEngine() {
		t.Fatalf("err = %v, want a ConnectError saying no engine", err)
	}
	var be *bits.Error
	if !errors.As(err, &be) || be.Code != bits.ERROR_SERVICE_NOT_ACTIVE {
		t.Errorf("as a BITS error: %v", be)
	}
}

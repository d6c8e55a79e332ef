package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"ferry/backend/api/wire"
	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/ops"
)

// A call over the size limit is answered in the usual error shape, over a
// plain socket, instead of having its connection closed under it.
func TestOversizedCallGetsAnErrorBody(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.sock")
	cl, _ := serve(t, path)
	big := strings.Repeat("x", 2*wire.MaxCall)

	// The Go client.
	_, err := cl.Call(context.Background(), "setdescription", ops.Request{Args: []string{"nightly", big}})
	if bits.CodeOf(err) != bits.BG_E_TOO_LARGE {
		t.Fatalf("2 MiB call through the client = %v, want BG_E_TOO_LARGE", err)
	}

	// A raw connection: the whole request is written, then the answer read.
	conn, err := dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	body := fmt.Sprintf(`{"op":"setdescription","args":["nightly",%q]}`, big)
	written := make(chan error, 1)
	go func() {
		_, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: ferry\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			PathCall, len(body), body)
		written <- err
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the answer to a 2 MiB call: %v", err)
	}
	defer resp.Body.Close()
	var rep wire.Reply
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatalf("decode the answer (%s): %v", resp.Status, err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge || rep.Error == nil ||
		rep.Error.Name != "BG_E_TOO_LARGE" || rep.Error.Code != bits.BG_E_TOO_LARGE || rep.Error.Message == "" {
		t.Fatalf("2 MiB call: %s %+v, want 413 and BG_E_TOO_LARGE", resp.Status, rep.Error)
	}
	if err := <-written; err != nil {
		t.Fatalf("the server stopped reading the request: %v", err)
	}

	// A call just under the limit is read and judged on its merits.
	_, err = cl.Call(context.Background(), "info", ops.Request{Args: []string{strings.Repeat("x", wire.MaxCall-200)}})
	if bits.CodeOf(err) != bits.BG_E_NOT_FOUND {
		t.Fatalf("a call under the limit = %v, want BG_E_NOT_FOUND", err)
	}
}

// A reader that stops reading the event stream is dropped with a last
// "overflow" line once it falls the subscriber buffer behind.
func TestStalledEventReaderGetsOverflow(t *testing.T) {
	defer func(n int) { engine.SubscriberBuffer = n }(engine.SubscriberBuffer)
	engine.SubscriberBuffer = 64
	cl, srv := serve(t, filepath.Join(t.TempDir(), "ferry.sock"))
	ctx := context.Background()
	evs, err := cl.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer evs.Close()
	m := srv.env.Manager
	// Enough events to overflow the buffer and whatever the socket holds
	// (about 200 KiB, some 300 events).
	for i := 0; i < 600; i++ {
		in, err := m.CreateJob(fmt.Sprintf("j%d", i), bits.TypeDownload)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Cancel(in.ID); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for {
		ev, raw, err := evs.Next()
		if err != nil {
			t.Fatalf("after %d events: %v, want an overflow line first", n, err)
		}
		if ev.Kind == engine.EventOverflow {
			if !strings.Contains(string(raw), `"job":null`) || !strings.Contains(string(raw), "list the jobs again") {
				t.Fatalf("overflow line %s", raw)
			}
			break
		}
		n++
	}
	if _, _, err := evs.Next(); err != ErrStreamEnded {
		t.Fatalf("after the overflow line: %v, want the stream ended", err)
	}
	if n >= 1200 {
		t.Fatalf("%d events before the overflow: nothing was dropped", n)
	}
}

// A reader that opens the event stream and never reads it (nor closes it)
// does not hold the stream's goroutine and subscription forever: once the
// socket's buffers are full, the write that blocks times out and the
// stream ends.
func TestEventReaderThatNeverReadsIsReleased(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.sock")
	_, srv := serve(t, path)
	srv.eventWrite.Store(int64(200 * time.Millisecond))
	c, err := dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET "+PathEvents+" HTTP/1.1\r\nHost: ferry\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	streaming := func() bool {
		buf := make([]byte, 1<<20)
		return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "(*Server).handleEvents")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !streaming() {
		if time.Now().After(deadline) {
			t.Fatal("the event stream never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Far more than the socket holds (some 300 events fill it).
	m := srv.env.Manager
	for i := 0; i < 800; i++ {
		in, err := m.CreateJob(fmt.Sprintf("never-read-%d", i), bits.TypeDownload)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Cancel(in.ID); err != nil {
			t.Fatal(err)
		}
	}
	deadline = time.Now().Add(10 * time.Second)
	for streaming() {
		if time.Now().After(deadline) {
			t.Fatal("the stream of a reader that never reads still holds its goroutine after 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

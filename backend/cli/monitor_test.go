package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/api"
	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/ops"
	"ferry/backend/store"
	"ferry/backend/transfer"
)

// inProcessEngine runs an engine and its control API in this process, so a
// test can reach into both.
func inProcessEngine(t *testing.T) (*engine.Manager, *api.Client) {
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
	path := filepath.Join(t.TempDir(), "ferry.sock")
	ln, err := api.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewServer(&ops.Env{Manager: m}, api.Hello{Version: "test"}, log)
	go srv.Serve(ln)
	cl := api.NewClient(path)
	t.Cleanup(func() {
		cl.Close()
		srv.Close(context.Background())
		m.Close()
		st.Close()
	})
	return m, cl
}

// gatedWriter collects lines; once closed is set, writes wait for open.
type gatedWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	gate  chan struct{}
	stuck chan struct{} // closed when a write first waits at the gate
	once  sync.Once
}

func (w *gatedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	gate := w.gate
	w.mu.Unlock()
	if gate != nil {
		w.once.Do(func() { close(w.stuck) })
		<-gate
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *gatedWriter) events(t *testing.T) []engine.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []engine.Event
	for _, l := range strings.Split(strings.TrimSpace(w.buf.String()), "\n") {
		var ev engine.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Job.ID == "" {
			t.Fatalf("monitor printed %q, not an event (%v)", l, err)
		}
		out = append(out, ev)
	}
	return out
}

// monitor --json starts with a snapshot line per job; when its reader stalls
// long enough for the engine to drop it, it reconnects and prints a fresh
// snapshot, and then follows the engine again.
func TestMonitorSnapshotAndResync(t *testing.T) {
	defer func(n int) { engine.SubscriberBuffer = n }(engine.SubscriberBuffer)
	engine.SubscriberBuffer = 16
	m, cl := inProcessEngine(t)
	for _, name := range []string{"one", "two"} {
		if _, err := m.CreateJob(name, bits.TypeDownload); err != nil {
			t.Fatal(err)
		}
	}
	out := &gatedWriter{stuck: make(chan struct{})}
	var stderr bytes.Buffer
	c := &cli{stdout: out, stderr: &stderr, json: true, api: cl}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- c.monitorLines(ctx, cl, ops.Request{}) }()

	waitUntil(t, 10*time.Second, "two snapshot lines", func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		return strings.Count(out.buf.String(), "\n") >= 2
	})
	evs := out.events(t)
	if evs[0].Kind != engine.EventSnapshot || evs[1].Kind != engine.EventSnapshot || evs[0].Job.DisplayName == evs[1].Job.DisplayName {
		t.Fatalf("first lines %+v, want a snapshot of each job", evs)
	}

	// Stall stdout, and make far more events than the buffer and the
	// socket hold.
	gate := make(chan struct{})
	out.mu.Lock()
	out.gate = gate
	out.mu.Unlock()
	if _, err := m.CreateJob("stall", bits.TypeDownload); err != nil {
		t.Fatal(err)
	}
	<-out.stuck
	for i := range 300 { // create/cancel: the load of issue 10
		in, err := m.CreateJob(fmt.Sprintf("burst%d", i), bits.TypeDownload)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Cancel(in.ID); err != nil {
			t.Fatal(err)
		}
	}
	out.mu.Lock()
	out.gate = nil
	out.mu.Unlock()
	close(gate)

	total := 3 // one, two, stall
	waitUntil(t, 30*time.Second, "a fresh snapshot after the stall", func() bool {
		n := 0
		for _, ev := range out.events(t)[2:] {
			if ev.Kind == engine.EventSnapshot {
				n++
			}
		}
		return n == total
	})
	if !strings.Contains(stderr.String(), "fell behind") {
		t.Errorf("stderr %q, want a note about the resync", stderr.String())
	}
	// And it follows the engine again.
	if _, err := m.CreateJob("after", bits.TypeDownload); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the created event after the resync", func() bool {
		evs := out.events(t)
		last := evs[len(evs)-1]
		return last.Kind == engine.EventCreated && last.Job.DisplayName == "after"
	})
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("monitor ended with %d, stderr %q", code, stderr.String())
	}
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wait and transfer follow one job; if they fall behind (their updates not
// read) and the engine drops them, they subscribe again and read the job
// afresh instead of reporting a lost engine.
func TestJobWatchSurvivesOverflow(t *testing.T) {
	defer func(n int) { engine.SubscriberBuffer = n }(engine.SubscriberBuffer)
	engine.SubscriberBuffer = 8
	m, cl := inProcessEngine(t)
	ctx := context.Background()
	in, err := m.CreateJob("watched", bits.TypeDownload)
	if err != nil {
		t.Fatal(err)
	}
	w, err := watchJob(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	w.follow(in.ID)
	// More changes of the job than updates holds, then more than the
	// engine buffers and the socket holds, none of them read.
	for i := range 600 {
		if err := m.SetDescription(in.ID, fmt.Sprintf("d%d %s", i, strings.Repeat("x", 500))); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 { // other jobs' events do not coalesce with these
			o, err := m.CreateJob("other", bits.TypeDownload)
			if err != nil {
				t.Fatal(err)
			}
			m.Cancel(o.ID)
		}
	}
	final := "the final description"
	if err := m.SetDescription(in.ID, final); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case j := <-w.updates:
			if j.Description == final {
				return
			}
		case err := <-w.ended:
			t.Fatalf("the watch ended: %v", err)
		case <-deadline:
			t.Fatal("the final description never arrived")
		}
	}
}

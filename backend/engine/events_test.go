package engine

import (
	"fmt"
	"testing"
	"time"

	"ferry/backend/bits"
)

func ev(kind EventKind, id string, done int64) Event {
	return Event{Kind: kind, Job: bits.JobInfo{ID: id, Progress: bits.JobProgress{BytesTransferred: done}}, FileIndex: -1}
}

func recv(t *testing.T, c <-chan Event) (Event, bool) {
	t.Helper()
	select {
	case e, ok := <-c:
		return e, ok
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
		return Event{}, false
	}
}

// A reader that stops reading costs at most the bound: past it, publishing
// drops the subscriber, which then gets one overflow event and is closed.
func TestStalledSubscriberOverflows(t *testing.T) {
	b := newBus()
	b.limit = 16
	evs, unsubscribe := b.Subscribe()
	defer unsubscribe()
	for i := range 10 * b.limit {
		b.publish(ev(EventCreated, fmt.Sprintf("job%d", i), 0))
	}
	b.mu.Lock()
	left := len(b.subs)
	b.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d subscribers still fed after overflowing, want 0", left)
	}
	// The pump may hold the one event it took before the reader stalled.
	before := 0
	for {
		e, ok := recv(t, evs)
		if !ok {
			t.Fatal("closed without an overflow event")
		}
		if e.Kind == EventOverflow {
			break
		}
		if before++; before > 1 {
			t.Fatalf("%d events delivered before the overflow, want at most the one in hand", before)
		}
	}
	if e, ok := recv(t, evs); ok {
		t.Fatalf("after overflow got %+v, want the channel closed", e)
	}
	// Others are not affected: a new subscriber gets new events.
	evs2, unsub2 := b.Subscribe()
	defer unsub2()
	b.publish(ev(EventCreated, "fresh", 0))
	if e, _ := recv(t, evs2); e.Job.ID != "fresh" {
		t.Fatalf("a new subscriber got %+v", e)
	}
}

// Progress of one job collapses into its newest pending "modified", but
// never across the job's other events: their order per job survives.
func TestSubscriberCoalescesModifiedInOrder(t *testing.T) {
	b := newBus()
	evs, unsubscribe := b.Subscribe()
	defer unsubscribe()
	// The pump holds the first event it took while waiting for the reader.
	b.publish(ev(EventCreated, "a", 0))
	time.Sleep(10 * time.Millisecond)
	for i := int64(1); i <= 100; i++ {
		b.publish(ev(EventModified, "a", i))
		b.publish(ev(EventModified, "b", i))
	}
	b.publish(ev(EventTransferred, "a", 100))
	b.publish(ev(EventModified, "a", 101))
	b.publish(ev(EventFileTransferred, "b", 100))
	b.publish(ev(EventFileTransferred, "b", 100))
	var got []string
	for len(got) < 7 {
		e, ok := recv(t, evs)
		if !ok {
			t.Fatalf("closed after %v", got)
		}
		got = append(got, fmt.Sprintf("%s %s %d", e.Kind, e.Job.ID, e.Job.Progress.BytesTransferred))
	}
	want := []string{"created a 0", "modified a 100", "modified b 100", "transferred a 100", "modified a 101",
		"fileTransferred b 100", "fileTransferred b 100"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// Coalesced progress never overflows: a thousand updates of a few jobs fit
// in a small buffer.
func TestCoalescedProgressDoesNotOverflow(t *testing.T) {
	b := newBus()
	b.limit = 4
	evs, unsubscribe := b.Subscribe()
	defer unsubscribe()
	for i := int64(1); i <= 1000; i++ {
		for _, id := range []string{"a", "b", "c"} {
			b.publish(ev(EventModified, id, i))
		}
	}
	seen := map[string]int64{}
	for len(seen) < 3 || seen["a"] < 1000 || seen["b"] < 1000 || seen["c"] < 1000 {
		e, ok := recv(t, evs)
		if !ok || e.Kind == EventOverflow {
			t.Fatalf("overflowed on coalescible progress (seen %v)", seen)
		}
		seen[e.Job.ID] = e.Job.Progress.BytesTransferred
	}
}

// Watch survives an overflow: the listener gets a snapshot of every job and
// then the engine's events again.
func TestWatchResynchronisesAfterOverflow(t *testing.T) {
	h := newHarness(t)
	h.m.bus.mu.Lock()
	h.m.bus.limit = 8
	h.m.bus.mu.Unlock()
	evs, stop := h.m.Watch()
	defer stop()
	var ids []string
	for i := range 20 { // more than the bound, not read
		ids = append(ids, h.job(fmt.Sprintf("job%d", i)))
	}
	snap := map[string]bool{}
	for len(snap) < len(ids) {
		e, ok := recv(t, evs)
		if !ok {
			t.Fatal("Watch's channel closed on overflow")
		}
		if e.Kind == EventOverflow {
			t.Fatal("Watch passed the overflow on")
		}
		if e.Kind == EventSnapshot {
			snap[e.Job.ID] = true
		}
	}
	h.must(h.m.SetDescription(ids[0], "after"))
	for {
		e, ok := recv(t, evs)
		if !ok {
			t.Fatal("closed")
		}
		if e.Kind == EventModified && e.Job.ID == ids[0] && e.Job.Description == "after" {
			return
		}
	}
}

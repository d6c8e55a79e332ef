package main

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
)

// fakeSource is a JobSource whose changes the test sends by hand.
type fakeSource struct {
	jobs    []bits.JobInfo
	changes chan bits.JobInfo

	mu           sync.Mutex
	unsubscribed bool
}

func newFakeSource(jobs ...bits.JobInfo) *fakeSource {
	return &fakeSource{jobs: jobs, changes: make(chan bits.JobInfo)}
}

func (f *fakeSource) Jobs() []bits.JobInfo { return f.jobs }

func (f *fakeSource) Changes() (<-chan bits.JobInfo, func()) {
	return f.changes, func() { f.mu.Lock(); f.unsubscribed = true; f.mu.Unlock() }
}

type emitted struct {
	name string
	job  bits.JobInfo
	at   time.Time
}

// fakeEmitter records what App would have sent to the window.
type fakeEmitter struct {
	mu     sync.Mutex
	events []emitted
}

func (e *fakeEmitter) Emit(name string, data any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, emitted{name, data.(bits.JobInfo), time.Now()})
}

func (e *fakeEmitter) snapshot() []emitted {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]emitted(nil), e.events...)
}

// waitFor polls until cond holds: the emitter is fed by App's own goroutine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func job(id string, state bits.JobState, done int64) bits.JobInfo {
	return bits.JobInfo{ID: id, DisplayName: id, State: state,
		Progress: bits.JobProgress{BytesTotal: 100, BytesTransferred: done, FilesTotal: 1}}
}

func startApp(t *testing.T, src JobSource, closed *bool) (*App, *fakeEmitter) {
	t.Helper()
	app := NewApp(func() (JobSource, func(), error) {
		return src, func() { *closed = true }, nil
	})
	em := &fakeEmitter{}
	app.start(context.Background(), em)
	t.Cleanup(app.close)
	return app, em
}

func TestListJobs(t *testing.T) {
	var closed bool
	app, _ := startApp(t, newFakeSource(job("a", bits.StateQueued, 0)), &closed)
	jobs, err := app.ListJobs()
	if err != nil || len(jobs) != 1 || jobs[0].ID != "a" {
		t.Fatalf("ListJobs = %v, %v; want job a", jobs, err)
	}
}

func TestListJobsEmptyIsNotNil(t *testing.T) {
	var closed bool
	app, _ := startApp(t, newFakeSource(), &closed)
	jobs, err := app.ListJobs()
	if err != nil || jobs == nil {
		t.Fatalf("ListJobs = %#v, %v; want an empty, non-nil slice (JSON [])", jobs, err)
	}
}

func TestListJobsWaitsForStartup(t *testing.T) {
	release := make(chan struct{})
	app := NewApp(func() (JobSource, func(), error) {
		<-release
		return newFakeSource(job("a", bits.StateQueued, 0)), nil, nil
	})
	got := make(chan int)
	go func() {
		jobs, _ := app.ListJobs()
		got <- len(jobs)
	}()
	go app.start(context.Background(), &fakeEmitter{})
	select {
	case <-got:
		t.Fatal("ListJobs returned before the source was open")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if n := <-got; n != 1 {
		t.Fatalf("ListJobs after startup returned %d jobs, want 1", n)
	}
	app.close()
}

func TestOpenErrorReachesTheWindow(t *testing.T) {
	app := NewApp(func() (JobSource, func(), error) { return nil, nil, errors.New("engine locked") })
	app.start(context.Background(), &fakeEmitter{})
	defer app.close()
	if _, err := app.ListJobs(); err == nil || err.Error() != "engine locked" {
		t.Fatalf("ListJobs error = %v, want the open error", err)
	}
}

func TestCloseWithoutStart(t *testing.T) {
	app := NewApp(func() (JobSource, func(), error) { t.Fatal("opened"); return nil, nil, nil })
	app.close()
	if jobs, err := app.ListJobs(); err != nil || len(jobs) != 0 {
		t.Fatalf("ListJobs after close = %v, %v", jobs, err)
	}
}

func TestChangesAreEmittedAsJobEvents(t *testing.T) {
	var closed bool
	src := newFakeSource()
	app, em := startApp(t, src, &closed)
	src.changes <- job("a", bits.StateTransferring, 10)
	waitFor(t, "one event", func() bool { return len(em.snapshot()) == 1 })
	ev := em.snapshot()[0]
	if ev.name != "job" || ev.job.ID != "a" || ev.job.Progress.BytesTransferred != 10 {
		t.Fatalf("emitted %+v", ev)
	}
	app.close()
	src.mu.Lock()
	unsubscribed := src.unsubscribed
	src.mu.Unlock()
	if !unsubscribed || !closed {
		t.Fatalf("after close: unsubscribed=%v closed=%v, want both", unsubscribed, closed)
	}
}

// A burst of progress must reach the window as a few events per job, the
// first at once and the newest state last.
func TestChangesAreCoalescedPerJob(t *testing.T) {
	var closed bool
	src := newFakeSource()
	_, em := startApp(t, src, &closed)
	start := time.Now()
	for i := int64(1); i <= 100; i++ {
		src.changes <- job("a", bits.StateTransferring, i)
		src.changes <- job("b", bits.StateTransferring, i)
		time.Sleep(time.Millisecond)
	}
	src.changes <- job("a", bits.StateTransferred, 100)
	src.changes <- job("b", bits.StateError, 100)
	burst := time.Since(start)

	lastOf := func(id string) (bits.JobInfo, int) {
		var last bits.JobInfo
		n := 0
		for _, ev := range em.snapshot() {
			if ev.job.ID == id {
				last, n = ev.job, n+1
			}
		}
		return last, n
	}
	waitFor(t, "final states", func() bool {
		a, _ := lastOf("a")
		b, _ := lastOf("b")
		return a.State == bits.StateTransferred && b.State == bits.StateError
	})

	// Allow one event per interval of the burst, plus the first and the trailing one.
	limit := int(burst/minEmitInterval) + 2
	for _, id := range []string{"a", "b"} {
		if _, n := lastOf(id); n > limit {
			t.Errorf("job %s: %d events for a %v burst, want at most %d", id, n, burst, limit)
		}
	}
	first := em.snapshot()[0]
	if first.job.Progress.BytesTransferred != 1 {
		t.Errorf("first event carries %d bytes, want the first change (1) sent at once", first.job.Progress.BytesTransferred)
	}
}

// Two events of one job are never closer than the interval.
func TestCoalesceSpacing(t *testing.T) {
	const interval = 40 * time.Millisecond
	changes := make(chan bits.JobInfo)
	var mu sync.Mutex
	var times []time.Time
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		coalesce(ctx, changes, interval, func(bits.JobInfo) {
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
		})
	}()
	for i := range 60 {
		changes <- job("a", bits.StateTransferring, int64(i))
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(2 * interval)
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(times) < 2 {
		t.Fatalf("%d events, want the first and at least one trailing", len(times))
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < interval-5*time.Millisecond {
			t.Errorf("events %d and %d are %v apart, want >= %v", i-1, i, gap, interval)
		}
	}
}

func TestCoalesceStopsWhenChangesClose(t *testing.T) {
	changes := make(chan bits.JobInfo)
	done := make(chan struct{})
	go func() {
		defer close(done)
		coalesce(context.Background(), changes, time.Second, func(bits.JobInfo) {})
	}()
	close(changes)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("coalesce did not return after its channel closed")
	}
}

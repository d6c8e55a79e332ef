package web

import (
	"context"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
)

func jobAt(id string, state bits.JobState, done int64) bits.JobInfo {
	return bits.JobInfo{ID: id, State: state, Progress: bits.JobProgress{BytesTotal: 100, BytesTransferred: done}}
}

// Two pushes of one job are never closer than the interval, and the newest
// state goes out last.
func TestCoalesceSpacing(t *testing.T) {
	const interval = 40 * time.Millisecond
	changes := make(chan bits.JobInfo)
	var mu sync.Mutex
	var times []time.Time
	var last bits.JobInfo
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Coalesce(ctx, changes, interval, func(j bits.JobInfo) {
			mu.Lock()
			times = append(times, time.Now())
			last = j
			mu.Unlock()
		})
	}()
	for i := range 60 {
		changes <- jobAt("a", bits.StateTransferring, int64(i))
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(3 * interval)
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(times) < 2 || len(times) > 60*2/int(interval/time.Millisecond)+3 {
		t.Fatalf("%d pushes for 60 changes over ~120ms", len(times))
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < interval-5*time.Millisecond {
			t.Errorf("pushes %d and %d are %v apart, want >= %v", i-1, i, gap, interval)
		}
	}
	if last.Progress.BytesTransferred != 59 {
		t.Errorf("last push carries %d bytes, want the newest (59)", last.Progress.BytesTransferred)
	}
}

// Jobs are independent: a busy job does not hold back another's first change.
func TestCoalescePerJob(t *testing.T) {
	changes := make(chan bits.JobInfo)
	got := make(chan bits.JobInfo, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Coalesce(ctx, changes, time.Hour, func(j bits.JobInfo) { got <- j })
	changes <- jobAt("a", bits.StateTransferring, 1)
	changes <- jobAt("a", bits.StateTransferring, 2) // held for an hour
	changes <- jobAt("b", bits.StateQueued, 0)
	for _, want := range []string{"a", "b"} {
		select {
		case j := <-got:
			if j.ID != want {
				t.Fatalf("pushed %s, want %s", j.ID, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no push for %s", want)
		}
	}
}

// When the source ends, held changes still go out: they are the newest
// state of their jobs.
func TestCoalesceFlushesOnClose(t *testing.T) {
	changes := make(chan bits.JobInfo)
	var got []bits.JobInfo
	done := make(chan struct{})
	go func() {
		defer close(done)
		Coalesce(context.Background(), changes, time.Hour, func(j bits.JobInfo) { got = append(got, j) })
	}()
	changes <- jobAt("a", bits.StateTransferring, 1)
	changes <- jobAt("a", bits.StateTransferred, 100)
	close(changes)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Coalesce did not return after its channel closed")
	}
	if len(got) != 2 || got[1].State != bits.StateTransferred {
		t.Fatalf("pushed %+v, want the first change and then the held final one", got)
	}
}

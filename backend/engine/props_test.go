package engine

import (
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// MINIMUM_NOTIFICATION_INTERVAL_MS spaces a job's progress events: with an
// hour, a transfer that the engine's own interval (1 ms here) would report
// at every step reports its progress at most once.
func TestMinimumNotificationIntervalSpacesProgressEvents(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/slow", testsrv.File{Size: 600 << 10, RateLimit: 200 << 10})
	h := newHarness(t, func(c *Config) {
		c.ProgressInterval = time.Millisecond
		c.CheckpointInterval, c.CheckpointBytes = time.Hour, 1<<40 // no checkpoint events in between
	})
	count := func(intervalMS string) int {
		id := h.job("n"+intervalMS, srv.URL("/slow"), h.path("f"+intervalMS))
		if intervalMS != "" {
			h.must(h.m.SetProperty(id, PropNotifyIntervalMS, intervalMS))
		}
		evs, unsubscribe := h.m.Subscribe()
		defer unsubscribe()
		h.must(h.m.Resume(id))
		n := 0
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case ev := <-evs:
				if ev.Job.ID != id {
					continue
				}
				if ev.Kind == EventModified && ev.Job.State == bits.StateTransferring {
					n++
				}
				if ev.Job.State == bits.StateTransferred {
					return n
				}
			case <-tick.C:
				h.clk.Advance(20 * time.Millisecond)
			case <-deadline:
				t.Fatalf("job %s did not finish", id)
			}
		}
	}
	n1 := count("3600000")
	t.Logf("progress events: %d with one hour", n1)
	if n := n1; n > 2 {
		t.Errorf("%d progress events with MINIMUM_NOTIFICATION_INTERVAL_MS one hour, want at most 2", n)
	}
	if n := count(""); n < 5 {
		t.Errorf("only %d progress events with the engine's 1 ms interval: the test shows nothing", n)
	}
}

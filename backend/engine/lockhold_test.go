package engine

import (
	"fmt"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// TestLockHoldUnderConcurrentTransfers runs 20 foreground transfers at once
// (4 MiB each, checkpoints every 256 KiB) while a client reads and changes
// the jobs, and reports the engine lock's longest hold. No store write,
// fsync or file I/O happens under the lock, so the hold stays short.
func TestLockHoldUnderConcurrentTransfers(t *testing.T) {
	srv := testsrv.New(t)
	const n = 20
	h := newHarness(t, slowStall, func(c *Config) { c.CheckpointBytes = 256 << 10 })
	var ids []string
	for i := range n {
		p := fmt.Sprintf("/f%d", i)
		srv.Handle(p, testsrv.File{Size: 4 << 20})
		id := h.job(fmt.Sprint("j", i), srv.URL(p), h.path(fmt.Sprint("f", i)))
		h.must(h.m.SetPriority(id, bits.PriorityForeground))
		ids = append(ids, id)
	}
	h.m.LockStats(true)
	for _, id := range ids {
		h.must(h.m.Resume(id))
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	defer func() {
		close(stop)
		<-stopped
	}()
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			h.m.List(false, true)
			_ = h.m.SetDescription(ids[i%n], fmt.Sprint("d", i))
		}
	}()
	for _, id := range ids {
		h.waitState(id, bits.StateTransferred)
	}
	hold := h.m.LockStats(false).LongestHold
	t.Logf("longest engine lock hold under %d concurrent transfers: %v", n, hold)
	// Generous: the lock covers only memory, but the machine may be loaded.
	if hold > 100*time.Millisecond {
		t.Fatalf("the engine lock was held for %v", hold)
	}
}

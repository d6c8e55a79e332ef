package engine

import (
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// A network change brings a TRANSIENT_ERROR job back at once, without its
// retry delay; a job that fails within netSettle after a change (the
// network still coming up) retries netSettle after its failure; one that
// fails later waits its whole delay.
func TestNetworkChangeRetriesAtOnce(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 5000, FailTimes: 3, FailStatus: 503})
	changes := make(chan struct{})
	h := newHarness(t, func(c *Config) { c.NetChanges = changes })
	id := h.job("net", srv.URL("/f"), h.path("f"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransientError)
	h.advance(10 * time.Second)
	settle()
	if s := h.info(id).State; s != bits.StateTransientError {
		t.Fatalf("retried before its delay without a network change: %s", s)
	}

	// The change: the job goes again at once (and fails a second time,
	// within netSettle of the change).
	changes <- struct{}{}
	in := h.waitState(id, bits.StateTransientError)
	for in.ErrorCount != 2 {
		in = h.waitState(id, bits.StateTransientError)
	}
	h.advance(netSettle - time.Second)
	settle()
	if in := h.info(id); in.State != bits.StateTransientError || in.ErrorCount != 2 {
		t.Fatalf("retried before netSettle: %s, %d errors", in.State, in.ErrorCount)
	}
	h.advance(time.Second)
	for in.ErrorCount != 3 {
		in = h.waitState(id, bits.StateTransientError)
	}
	// The third failure is netSettle after the change: the full delay.
	h.advance(netSettle + time.Minute)
	settle()
	if in := h.info(id); in.State != bits.StateTransientError || in.ErrorCount != 3 {
		t.Fatalf("retried before the retry delay, long after the change: %s, %d errors", in.State, in.ErrorCount)
	}
	// Another change: at once, and now the server answers.
	changes <- struct{}{}
	h.waitState(id, bits.StateTransferred)
}

package engine

import (
	"fmt"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// stalling serves paths that send a little and then hang, so that a job
// stays TRANSFERRING for as long as a test needs.
func stalling(t *testing.T, paths ...string) *testsrv.Server {
	srv := testsrv.New(t)
	for _, p := range paths {
		srv.Handle(p, testsrv.File{Size: 1 << 20, StallAfter: 100})
	}
	return srv
}

func TestPriorityPreemptsAndForegroundRunsTogether(t *testing.T) {
	srv := stalling(t, "/low", "/high", "/fg1", "/fg2")
	h := newHarness(t, slowStall)
	low := h.job("low", srv.URL("/low"), h.path("low"))
	h.must(h.m.SetPriority(low, bits.PriorityLow))
	h.must(h.m.Resume(low))
	h.waitState(low, bits.StateTransferring)

	high := h.job("high", srv.URL("/high"), h.path("high"))
	h.must(h.m.SetPriority(high, bits.PriorityHigh))
	h.must(h.m.Resume(high))
	h.waitState(high, bits.StateTransferring)
	if s := h.waitState(low, bits.StateQueued).State; s != bits.StateQueued {
		t.Fatalf("low %s", s)
	}
	// Every foreground job transfers at once, beside the one background slot.
	fg1 := h.job("fg1", srv.URL("/fg1"), h.path("fg1"))
	fg2 := h.job("fg2", srv.URL("/fg2"), h.path("fg2"))
	for _, id := range []string{fg1, fg2} {
		h.must(h.m.SetPriority(id, bits.PriorityForeground))
		h.must(h.m.Resume(id))
	}
	h.waitState(fg1, bits.StateTransferring)
	h.waitState(fg2, bits.StateTransferring)
	if s := h.info(high).State; s != bits.StateTransferring {
		t.Fatalf("high %s beside foreground jobs", s)
	}
	// When the higher job leaves, the lower one gets the slot back.
	h.must(h.m.Suspend(high))
	h.waitState(low, bits.StateTransferring)
	// More background slots by setting.
	h.must(h.m.SetSetting(KeyMaxBackgroundJobs, "2"))
	h.must(h.m.Resume(high))
	h.waitState(high, bits.StateTransferring)
	if s := h.info(low).State; s != bits.StateTransferring {
		t.Fatalf("low %s with two background slots", s)
	}
}

func TestTimeSliceRoundRobin(t *testing.T) {
	srv := stalling(t, "/a", "/b", "/c")
	h := newHarness(t, slowStall)
	h.must(h.m.SetSetting(KeyTimeSlice, "60"))
	ids := []string{h.job("a", srv.URL("/a"), h.path("a")), h.job("b", srv.URL("/b"), h.path("b")), h.job("c", srv.URL("/c"), h.path("c"))}
	for _, id := range ids {
		h.must(h.m.Resume(id))
	}
	running := func() string {
		deadline := time.Now().Add(10 * time.Second)
		for {
			var on []string
			for _, id := range ids {
				if s := h.info(id).State; s == bits.StateTransferring || s == bits.StateConnecting {
					on = append(on, h.info(id).DisplayName)
				}
			}
			if len(on) == 1 {
				return on[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("running: %v", on)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// FIFO first, then each gets a slice in turn, none starves.
	var order []string
	order = append(order, running())
	for range 3 {
		h.advance(61 * time.Second)
		prev := order[len(order)-1]
		deadline := time.Now().Add(10 * time.Second)
		for running() == prev && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		order = append(order, running())
	}
	if fmt.Sprint(order) != "[a b c a]" {
		t.Fatalf("slices went %v, want [a b c a]", order)
	}
}

func TestBandwidthPolicyZeroBlocksBackground(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 1000})
	srv.Handle("/g", testsrv.File{Size: 1000})
	h := newHarness(t)
	h.must(h.m.SetSetting(KeyBandwidthBackground, "0"))
	bg := h.job("bg", srv.URL("/f"), h.path("f"))
	fg := h.job("fg", srv.URL("/g"), h.path("g"))
	h.must(h.m.SetPriority(fg, bits.PriorityForeground))
	h.must(h.m.Resume(bg))
	h.must(h.m.Resume(fg))
	in := h.waitState(bg, bits.StateTransientError)
	if in.Error.Name != "BG_E_BLOCKED_BY_POLICY" || in.ErrorCount != 0 {
		t.Fatalf("%+v count %d", in.Error, in.ErrorCount)
	}
	h.waitState(fg, bits.StateTransferred) // foreground ignores the policy
	h.must(h.m.SetSetting(KeyBandwidthBackground, "unlimited"))
	h.waitState(bg, bits.StateTransferred)
}

func TestBandwidthCapSlowsBackground(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 600 << 10})
	h := newHarness(t)
	h.must(h.m.SetSetting(KeyBandwidthNormal, "200K"))
	id := h.job("capped", srv.URL("/f"), h.path("f"))
	start := time.Now()
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	// 600 KiB at 200 KiB/s, minus the initial burst, takes well over a second.
	if el := time.Since(start); el < 1500*time.Millisecond {
		t.Fatalf("capped download took only %v", el)
	}
}

// onlyRunning waits until exactly one of ids is CONNECTING or TRANSFERRING
// and returns its display name.
func onlyRunning(t *testing.T, h *harness, ids []string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var on []string
		for _, id := range ids {
			if in := h.info(id); in.State == bits.StateTransferring || in.State == bits.StateConnecting {
				on = append(on, in.DisplayName)
			}
		}
		if len(on) == 1 {
			return on[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("running: %v", on)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The clock moves without a Kick here: only a deadline the scheduler armed
// itself can notice it, as with the real clock. The slice end of a job that
// got its slot in the same pass was never armed, so the second job kept
// the slot for good.
func TestEqualPrioritiesAlternateOnTheirOwn(t *testing.T) {
	srv := stalling(t, "/a", "/b")
	h := newHarness(t, slowStall)
	h.must(h.m.SetSetting(KeyTimeSlice, "2"))
	ids := []string{h.job("a", srv.URL("/a"), h.path("a")), h.job("b", srv.URL("/b"), h.path("b"))}
	for _, id := range ids {
		h.must(h.m.Resume(id))
	}
	order := []string{onlyRunning(t, h, ids)}
	for range 4 {
		settle()
		h.clk.Advance(2100 * time.Millisecond)
		prev := order[len(order)-1]
		deadline := time.Now().Add(10 * time.Second)
		for onlyRunning(t, h, ids) == prev && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		order = append(order, onlyRunning(t, h, ids))
	}
	if fmt.Sprint(order) != "[a b a b a]" {
		t.Fatalf("slices went %v, want [a b a b a]", order)
	}
}

func TestMaxDownloadTimeFiresOnItsOwn(t *testing.T) {
	srv := stalling(t, "/slow")
	h := newHarness(t, slowStall)
	id := h.job("max", srv.URL("/slow"), h.path("slow"))
	h.must(h.m.SetMaximumDownloadTime(id, 3))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferring)
	settle()
	h.clk.Advance(4 * time.Second)
	in := h.waitState(id, bits.StateError)
	if in.Error.Name != "BG_E_MAXDOWNLOAD_TIMEOUT" {
		t.Fatalf("%+v", in.Error)
	}
}

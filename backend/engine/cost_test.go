package engine

import (
	"sync/atomic"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// costHarness is an engine whose network cost the test sets; like the real
// monitor, a change kicks the scheduler.
type costHarness struct {
	*harness
	cost atomic.Uint32
}

func newCostHarness(t *testing.T, cost bits.CostState) *costHarness {
	ch := &costHarness{}
	ch.cost.Store(uint32(cost))
	ch.harness = newHarness(t, func(c *Config) {
		c.Cost = func() bits.CostState { return bits.CostState(ch.cost.Load()) }
	})
	return ch
}

func (ch *costHarness) setCost(c bits.CostState) {
	ch.cost.Store(uint32(c))
	ch.m.Kick()
}

const metered = bits.CostUsageBased // NetworkManager's "metered: yes"

func TestCostPolicyBlocksAndReleases(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 64 << 10})
	srv.Handle("/g", testsrv.File{Size: 64 << 10})
	h := newCostHarness(t, metered|bits.CostRoaming)
	a := h.job("a", srv.URL("/f"), h.path("f"))
	b := h.job("b", srv.URL("/g"), h.path("g"))
	if got, err := h.m.GetProperty(a, "COST_FLAGS"); err != nil || got != uint32(bits.PolicyNotRoaming) {
		t.Fatalf("new job's COST_FLAGS = %v, %v; want TRANSFER_NOT_ROAMING", got, err)
	}
	h.must(h.m.SetProperty(b, "BITS_JOB_PROPERTY_ID_COST_FLAGS", "BITS_COST_STATE_TRANSFER_UNRESTRICTED"))
	h.must(h.m.SetPriority(b, bits.PriorityForeground)) // the policy binds foreground jobs too
	h.must(h.m.Resume(a))
	h.must(h.m.Resume(b))
	for _, id := range []string{a, b} {
		in := h.waitState(id, bits.StateTransientError)
		if in.Error.Name != "BG_E_BLOCKED_BY_COST_TRANSFER_POLICY" || in.ErrorCount != 0 {
			t.Fatalf("%s: error %+v, count %d", in.DisplayName, in.Error, in.ErrorCount)
		}
	}
	// Metered but not roaming: the default policy goes on by itself,
	// the UNRESTRICTED one still waits.
	h.setCost(metered)
	h.waitState(a, bits.StateTransferred)
	if in := h.info(b); in.State != bits.StateTransientError {
		t.Fatalf("b on a metered network: %s", in.State)
	}
	// COST_FLAGS apply at once: allowing the cost releases it.
	h.must(h.m.SetProperty(b, "COST_FLAGS", "0x800000FF"))
	h.waitState(b, bits.StateTransferred)
}

func TestCostPolicyStopsARunningJob(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/slow", testsrv.File{Size: 1 << 20, RateLimit: 256 << 10})
	h := newCostHarness(t, bits.CostUnrestricted)
	id := h.job("slow", srv.URL("/slow"), h.path("slow"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferring)
	h.setCost(metered | bits.CostRoaming)
	in := h.waitState(id, bits.StateTransientError)
	if in.Error.Code != bits.BG_E_BLOCKED_BY_COST_TRANSFER_POLICY {
		t.Fatalf("error %+v", in.Error)
	}
	h.setCost(bits.CostUnrestricted)
	h.waitState(id, bits.StateTransferred)
	if _, err := h.m.Complete(id); err != nil {
		t.Fatal(err)
	}
	if got, want := fileSHA(t, h.path("slow")), sha(srv.Body("/slow")); got != want {
		t.Fatalf("file %s, want %s", got, want)
	}
}

func TestCostFlagsRefusals(t *testing.T) {
	h := newCostHarness(t, bits.CostUnrestricted)
	id := h.job("j")
	for _, v := range []string{"0", "0x80000000", "0x100", "cheap", "ALWAYS|", ""} {
		wantCode(t, h.m.SetProperty(id, "COST_FLAGS", v), bits.E_INVALIDARG)
	}
	if got, _ := h.m.GetProperty(id, "COST_FLAGS"); got != uint32(bits.PolicyNotRoaming) {
		t.Fatalf("refused values changed COST_FLAGS to %v", got)
	}
	h.must(h.m.SetProperty(id, "cost_flags", "below_cap|near_cap"))
	if got, _ := h.m.GetProperty(id, "COST_FLAGS"); got != uint32(bits.CostBelowCap|bits.CostNearCap) {
		t.Fatalf("COST_FLAGS = %v", got)
	}
	h.restart()
	if got, _ := h.m.GetProperty(id, "COST_FLAGS"); got != uint32(bits.CostBelowCap|bits.CostNearCap) {
		t.Fatalf("after a restart COST_FLAGS = %v", got)
	}
}

package engine

import (
	"context"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/transfer"
)

// yieldDriver records the Yielder of the transfer it holds open.
type yieldDriver struct{ got chan *transfer.Yielder }

func (d *yieldDriver) Schemes() []string { return []string{"http"} }

func (d *yieldDriver) Download(ctx context.Context, req transfer.Request, t transfer.Target) error {
	d.got <- req.Options.Yield
	<-ctx.Done()
	return ctx.Err()
}

// The engine decides per job whether it yields: every priority but
// FOREGROUND, while bandwidth.yield is on; a change applies to the running
// transfer at once.
func TestYieldFollowsPriorityAndSetting(t *testing.T) {
	drv := &yieldDriver{got: make(chan *transfer.Yielder, 1)}
	h := newHarness(t, func(c *Config) { c.Drivers = []transfer.Driver{drv} })
	id := h.job("bg", "http://example.invalid/a", h.path("a"))
	h.must(h.m.SetPriority(id, bits.PriorityLow))
	h.must(h.m.Resume(id))
	var y *transfer.Yielder
	select {
	case y = <-drv.got:
	case <-time.After(10 * time.Second):
		t.Fatal("the transfer did not start")
	}
	if y == nil || !y.Enabled() {
		t.Fatalf("a LOW job's transfer does not yield (Yielder %v)", y)
	}
	h.must(h.m.SetPriority(id, bits.PriorityForeground))
	if y.Enabled() {
		t.Error("a FOREGROUND job still yields")
	}
	h.must(h.m.SetPriority(id, bits.PriorityNormal))
	if !y.Enabled() {
		t.Error("a NORMAL job does not yield")
	}
	h.must(h.m.SetSetting(KeyBandwidthYield, "false"))
	if y.Enabled() {
		t.Error("bandwidth.yield false: the job still yields")
	}
	h.must(h.m.SetSetting(KeyBandwidthYield, "true"))
	if !y.Enabled() {
		t.Error("bandwidth.yield true: the job does not yield")
	}
}

func TestYieldSettingParses(t *testing.T) {
	if v := DefaultSettings().Get(KeyBandwidthYield); v != 1 {
		t.Errorf("bandwidth.yield defaults to %d, want 1 (true, cli.md)", v)
	}
	for in, want := range map[string]int64{"true": 1, "FALSE": 0, "on": 1, "0": 0} {
		if _, v, err := ParseSetting(KeyBandwidthYield, in); err != nil || v != want {
			t.Errorf("ParseSetting(%q) = %d, %v; want %d", in, v, err, want)
		}
	}
	if _, _, err := ParseSetting(KeyBandwidthYield, "maybe"); bits.CodeOf(err) != bits.E_INVALIDARG {
		t.Errorf("ParseSetting(maybe): %v, want E_INVALIDARG", err)
	}
	if got := FormatSetting(KeyBandwidthYield, 0); got != "false" {
		t.Errorf("FormatSetting(0) = %q, want false", got)
	}
}

package transfer

import (
	"net"
	"testing"
	"time"

	"ferry/backend/clock"
)

// feed runs the controller for d on a fake link: every 5 ms a delay sample
// of base+queue and the bytes the window lets through at that round trip.
func feed(clk *clock.Fake, y *Yielder, d, base, queue time.Duration) {
	for t := time.Duration(0); t < d; t += 5 * time.Millisecond {
		clk.Advance(5 * time.Millisecond)
		rtt := base + queue
		y.Observe(rtt, int(float64(y.Window())*(5*time.Millisecond).Seconds()/rtt.Seconds()))
	}
}

func newTestYielder() (*clock.Fake, *Yielder) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return clk, NewYielder(clk)
}

// The window grows while there is no queue, shrinks as the queueing delay
// rises above the target, and grows back once the queue drains.
func TestYielderShrinksAboveTargetAndGrowsBack(t *testing.T) {
	for _, base := range []time.Duration{time.Millisecond, 40 * time.Millisecond} {
		clk, y := newTestYielder()
		feed(clk, y, 3*time.Second, base, 0)
		grown := y.Window()
		if grown <= initWindow {
			t.Fatalf("base %v: no queue for 3 s, window %d, want it grown past %d", base, grown, initWindow)
		}
		feed(clk, y, 4*time.Second, base, 4*YieldTarget)
		shrunk := y.Window()
		if shrunk > minWindow*2 {
			t.Errorf("base %v: queueing delay 4×target for 4 s, window %d (was %d), want near the minimum %d", base, shrunk, grown, minWindow)
		}
		if qd := y.QueueDelay(); qd < 3*YieldTarget {
			t.Errorf("base %v: queue delay measured %v, want about %v", base, qd, 4*YieldTarget)
		}
		feed(clk, y, 5*time.Second, base, 0)
		if back := y.Window(); back < grown/2 {
			t.Errorf("base %v: queue drained for 5 s, window %d, want it grown back towards %d", base, back, grown)
		}
	}
}

// A small excess over the target shrinks the window a little, not to the
// floor: it is a controller, not a switch.
func TestYielderDecreaseIsProportional(t *testing.T) {
	clk, y := newTestYielder()
	feed(clk, y, 3*time.Second, 40*time.Millisecond, 0)
	y.mu.Lock()
	y.phase, y.nextSlowdown = phaseAvoid, clk.Now().Add(time.Hour)
	y.mu.Unlock()
	before := y.Window()
	clk.Advance(time.Second)
	for range currentFilter {
		y.Observe(40*time.Millisecond+targetFor(40*time.Millisecond)*11/10, 0)
	}
	after := y.Window()
	if after >= before || after < before*8/10 {
		t.Errorf("delay 10%% over target: window %d -> %d, want a cut of about 10%%", before, after)
	}
}

// The base delay is the minimum of the last ten minutes: an old minimum
// ages out (a route change is learnt).
func TestYielderBaseHistoryAges(t *testing.T) {
	clk, y := newTestYielder()
	y.Observe(10*time.Millisecond, 1000)
	for range 11 {
		clk.Advance(time.Minute)
		y.Observe(50*time.Millisecond, 1000)
	}
	y.mu.Lock()
	base := y.base.min()
	y.mu.Unlock()
	if base != 50*time.Millisecond {
		t.Errorf("base delay %v after 11 minutes at 50 ms, want 50ms", base)
	}
}

// Pacing: reads may take a burst and then owe it; the debt is paid at W
// per round trip. Several connections share the one budget and split the
// window.
// The connections of a job share its window, and no share goes below two
// of the connection's segments: on loopback (64 KiB segments) a smaller
// window leaves the sender to its persist timer (see Yielder).
func TestYielderSharesWithSegmentFloor(t *testing.T) {
	_, y := newTestYielder()
	y.attach()
	y.attach()
	if got := y.connWindow(yieldMSS); got != initWindow/2 {
		t.Errorf("two connections: each gets %d, want %d", got, initWindow/2)
	}
	y.detach()
	if got := y.connWindow(yieldMSS); got != initWindow {
		t.Errorf("one connection: it gets %d, want %d", got, initWindow)
	}
	if got := y.connWindow(65483); got != 2*65483 {
		t.Errorf("64 KiB segments: the share is %d, want two segments (%d)", got, 2*65483)
	}
}

func TestYielderDisabled(t *testing.T) {
	var y *Yielder
	if y.Enabled() {
		t.Error("a nil Yielder yields")
	}
	_, y = newTestYielder()
	y.SetEnabled(false)
	if y.Enabled() {
		t.Error("disabled, the Yielder still yields")
	}
}

// fakeProbe is a socket whose window and receiver round trip the test sets.
type fakeProbe struct {
	wnd    int
	rcvRTT time.Duration
	clamp_ int
}

func (p *fakeProbe) window() (int, int, time.Duration, bool) {
	return p.wnd, yieldMSS, p.rcvRTT, true
}
func (p *fakeProbe) clamp(b int) error { p.clamp_ = b; return nil }

// endlessConn reads as many bytes as asked, at once.
type endlessConn struct{ net.Conn }

func (endlessConn) Read(p []byte) (int, error) { return len(p), nil }

// A path that delivers in clumps (a busy forwarder: three windows' worth
// read within 20 ms, once per 40 ms round trip) gives Little's-law samples
// far shorter than the round trip. Taken as they are, one of them becomes
// the base delay and the honest 40 ms after it reads as queue, which shut
// the window of a job alone on a 40 ms link. The kernel's receiver
// estimate (timestamps) bounds them from below.
func TestYieldConnClumpsDoNotSetAFalseBase(t *testing.T) {
	clk, y := newTestYielder()
	p := &fakeProbe{wnd: 64 << 10, rcvRTT: 40 * time.Millisecond}
	c := &yieldConn{Conn: endlessConn{}, probe: p, closed: make(chan struct{})}
	c.bind(y)
	buf := make([]byte, 4<<10)
	for range 50 { // 50 round trips
		for range 48 { // 3 windows of 64 KiB in 4 KiB reads, 0.4 ms apart
			clk.Advance(400 * time.Microsecond)
			if _, err := c.Read(buf); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(40*time.Millisecond - 48*400*time.Microsecond)
	}
	y.mu.Lock()
	base := y.base.min()
	y.mu.Unlock()
	if base < 40*time.Millisecond {
		t.Errorf("base delay %v from clumped arrivals on a 40 ms path, want at least 40ms", base)
	}
	if y.Window() <= initWindow {
		t.Errorf("no queue: the window is %d, want it grown past %d", y.Window(), initWindow)
	}
}

package transfer

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"ferry/backend/clock"
)

// Yielder makes a background job use only bandwidth nothing else wants
// (BITS' "idle bandwidth" promise). Ferry receives, so it cannot run a
// sender's congestion control: it runs rLEDBAT (RFC 9840, "Receiver-Driven
// Low Extra Delay Background Transport for TCP") instead. The receiver
// measures the queueing delay it sees, runs the LEDBAT++ window rules on a
// window of its own (RFC 9840's RLWND), and keeps the sender within it by
// what it lets the socket advertise:
//
//   - Delay (RFC 9840, "Measuring delays", the method that uses the receive
//     window rather than timestamps): while the window binds, the bytes in
//     flight are the window the socket advertises (tcpi_rcv_wnd), so the
//     round trip is the time the job took to read the last window's worth
//     of bytes (Little's law; yieldConn keeps the read history). A sender
//     that sends less than the window makes the sample longer: the error is
//     on the yielding side. It can also come out shorter than any real
//     round trip, when the path delivers in clumps (a busy forwarder, a
//     late reader): a window's worth read within a few milliseconds. One
//     such sample would become the base delay for ten minutes, and every
//     honest sample after it would read as queue (the job alone at 40 ms
//     then got 5 % of the link). So a sample is never taken below the
//     kernel's receiver estimate (tcpi_rcv_rtt, RFC 9840's timestamp
//     method: from a segment's TSecr, the time since the receiver's own
//     ACK, which no clump makes shorter than the path). That estimate alone
//     would not do: it takes any smaller sample at once and a larger one
//     only when the receive queue is empty, so it may lag a rising queue.
//     The current delay is
//     the minimum of the samples of the last base delay (at least
//     currentFilter of them), the base delay the
//     minimum over baseBuckets one-minute buckets (RFC 6817 §3.4.2, the
//     history RFC 9840 keeps), and the queueing delay is their difference.
//   - Window (RFC 9840 applies LEDBAT++, draft-irtf-iccrg-ledbat-plus-plus):
//     TARGET scaled to the base delay (targetFor: a quarter of it, LEDBAT++'s
//     60 ms at most, so that a foreground flow starting beside the job meets
//     a short queue);
//     GAIN = 1/min(16, ceil(2·TARGET/base)); a slow start that
//     grows by GAIN per byte delivered and ends once the queueing delay passes
//     3/4 of TARGET; below TARGET +GAIN·MSS per window of bytes; above it,
//     once per round trip, W += max(GAIN·MSS − W·(delay/TARGET − 1), −W/2),
//     never under 2 MSS.
//   - Enforcement (RFC 9840, "Controlling the receive window"): the window,
//     split over the job's connections, is each socket's TCP_WINDOW_CLAMP,
//     set again at every sample because the kernel's buffer autotuning
//     raises the clamp as the buffer grows. Reads are not paced: bytes left
//     in the socket would hide from the delay measurement. The clamp never
//     shrinks the right edge of a window already offered (RFC 9840's rule):
//     the kernel stops advancing it instead. A connection's share never
//     goes below two of its maximum segments (tcpi_advmss): under one
//     segment the sender's silly-window avoidance (RFC 1122 §4.2.3.4) sends
//     only on its persist timer, each stall reads as a round trip of
//     hundreds of milliseconds, and the window would stay shut (on loopback,
//     64 KiB segments, a download crawled that way).
//
// One difference from LEDBAT++: after its first slow start, LEDBAT++ grows
// only additively, which at GAIN 1/16 takes minutes to refill a fast link
// after a foreground transfer ends. Ferry grows as in slow start again while
// the queueing delay stays under TARGET/4 (the link is idle), and
// additively between TARGET/4 and TARGET. LEDBAT++'s periodic slowdowns
// (two round trips at the minimum window, then a ramp back, nine times
// their length apart) let a competing flow that builds little queue (BBR)
// take the link. The window needs no validation against what the sender
// fills (RFC 7661): a window the sender leaves unused measures as delay,
// and the window shrinks to what is used.
//
// A Yielder is shared by every connection of one job (and by the segments
// of one file), so the job as a whole keeps to one window. It is safe for
// concurrent use.
type Yielder struct {
	clk     clock.Clock
	enabled atomic.Bool

	mu       sync.Mutex
	w        float64 // RLWND, bytes, the job's connections together
	phase    int
	ssthresh float64 // the window before a slowdown: where the ramp ends
	// LEDBAT++ periodic slowdowns.
	nextSlowdown, slowdownEnd, cycleStart time.Time
	lastCut                               time.Time // last decrease: at most one per round trip
	base                                  baseHistory
	recent                                [recentLen]sampleAt
	nRecent                               int
	rtt                                   time.Duration // current delay (0 before the first sample)
	conns                                 int           // connections bound to the job
}

// rLEDBAT parameters (see Yielder).
const (
	YieldTarget   = 60 * time.Millisecond // LEDBAT++ TARGET
	yieldMSS      = 1448                  // the window counts bytes of full segments
	minWindow     = 8 * yieldMSS          // see Yielder: smaller windows measure delayed ACKs as queue
	initWindow    = 64 << 10              // what Linux offers a new connection: no shrink to start with
	maxWindow     = 64 << 20              // no queue seen: the cap, not the limit
	maxGainDiv    = 16                    // LEDBAT++: GAIN is at least 1/16
	currentFilter = 4                     // RFC 6817 CURRENT_FILTER: at least this many samples
	recentLen     = 64                    // samples kept for the current delay (see Observe)
	baseBuckets   = 10                    // RFC 6817 BASE_HISTORY
	baseBucket    = time.Minute
)

// Phases of the controller.
const (
	phaseStart    = iota // the first slow start
	phaseAvoid           // LEDBAT++ congestion avoidance
	phaseSlowdown        // at the minimum window for two round trips
	phaseRamp            // back up to the window before the slowdown
)

// minSlowdownEvery spaces slowdowns on links with tiny round trips.
const minSlowdownEvery = time.Second

// NewYielder returns an enabled controller that starts in slow start.
func NewYielder(clk clock.Clock) *Yielder {
	if clk == nil {
		clk = clock.Real{}
	}
	y := &Yielder{clk: clk, w: initWindow}
	y.enabled.Store(true)
	return y
}

// SetEnabled turns yielding on or off (a job's priority or the
// bandwidth.yield setting changed); off, sockets are not clamped, and the state is kept for when it comes back on.
func (y *Yielder) SetEnabled(on bool) { y.enabled.Store(on) }

// Enabled reports whether the job yields now.
func (y *Yielder) Enabled() bool { return y != nil && y.enabled.Load() }

// Window is RLWND in bytes, for all the job's connections together.
func (y *Yielder) Window() int {
	y.mu.Lock()
	defer y.mu.Unlock()
	return int(y.w)
}

// QueueDelay is the queueing delay last measured (current minus base).
func (y *Yielder) QueueDelay() time.Duration {
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.rtt == 0 {
		return 0
	}
	return y.rtt - y.base.min()
}

// Observe feeds one round-trip sample, taken after delivered bytes arrived
// since the previous one, and applies the window rules.
func (y *Yielder) Observe(rtt time.Duration, delivered int) {
	if rtt <= 0 {
		return
	}
	y.mu.Lock()
	defer y.mu.Unlock()
	now := y.clk.Now()
	y.base.add(now, rtt)
	// The current delay is the minimum over the last base delay (at least
	// currentFilter samples): a filter shorter than a round trip let the
	// jitter of a busy path (a forwarder late by tens of milliseconds)
	// read as queue: on the 40 ms link under load the job alone had its
	// window below the link's BDP in 19 % of its samples, 8 % with this.
	y.recent[y.nRecent%recentLen] = sampleAt{now, rtt}
	y.nRecent++
	cur := rtt
	span := y.base.min()
	for i := 1; i < min(y.nRecent, recentLen); i++ {
		r := y.recent[(y.nRecent-1-i)%recentLen]
		if i >= currentFilter && now.Sub(r.at) > span {
			break
		}
		cur = min(cur, r.rtt)
	}
	y.rtt = cur
	base := y.base.min()
	qd := float64(cur - base)
	target := float64(targetFor(base))
	gain := 1 / math.Min(maxGainDiv, math.Ceil(2*target/float64(max(base, time.Microsecond))))
	d := float64(max(delivered, 0))
	if yieldTrace != nil {
		defer func() { yieldTrace(rtt, cur, base, y.w, y.phase) }()
	}

	switch y.phase {
	case phaseSlowdown:
		// LEDBAT++ periodic slowdown: two round trips at the minimum
		// window, so that a flow the queue hides can take the link (and a
		// base delay hidden by other LEDBAT flows shows), then a ramp back.
		if now.Before(y.slowdownEnd) {
			y.w = minWindow
			return
		}
		y.phase = phaseRamp
	case phaseStart, phaseRamp:
		if qd > 0.75*target || (y.phase == phaseRamp && y.w >= y.ssthresh) {
			y.endStart(now, cur)
			break
		}
		// The first slow start grows by GAIN (LEDBAT++); the ramp after a
		// slowdown doubles per round trip, back to a window known to fit.
		if y.phase == phaseStart {
			y.w += gain * d
		} else {
			y.w += d
		}
	default:
		switch {
		case now.After(y.nextSlowdown):
			y.ssthresh = y.w
			y.w = minWindow
			y.phase = phaseSlowdown
			y.cycleStart = now
			y.slowdownEnd = now.Add(2 * cur)
			return
		case qd > target:
			if now.Sub(y.lastCut) >= cur {
				y.w += math.Max(gain*yieldMSS-y.w*(qd/target-1), -y.w/2)
				y.lastCut = now
			}
		case qd < 0.25*target:
			y.w += gain * d // the link is idle: grow as in slow start
		default:
			y.w += gain * yieldMSS * d / y.w
		}
	}
	y.w = math.Min(math.Max(y.w, minWindow), maxWindow)
}

// endStart leaves a slow start or a ramp and schedules the next slowdown:
// LEDBAT++ waits two round trips after the first slow start, then nine
// times as long as the last slowdown and ramp took, so slowdowns cost at
// most a tenth of the time.
func (y *Yielder) endStart(now time.Time, rtt time.Duration) {
	if y.phase == phaseStart {
		y.nextSlowdown = now.Add(2 * rtt)
	} else {
		y.nextSlowdown = now.Add(max(9*now.Sub(y.cycleStart), minSlowdownEvery))
	}
	y.phase = phaseAvoid
}

// targetFor is the queueing delay the window aims at, for a base delay: a
// quarter of the base, between minTarget and LEDBAT++'s YieldTarget. A
// loss-based sender beside the job (CUBIC, Linux's default) fills the queue
// far past any of these, so the job yields whatever the target; what the
// target decides is how fast. A foreground flow starting beside the job
// meets the job's standing queue: CUBIC's HyStart leaves slow start on a
// delay rise, and the flow then grows slowly, taking the link only as fast
// as its window grows while the job shrinks only as fast as the queue
// rises. Measured on the 40 ms link (scripts/yield-net.sh): with the
// target at the base (40 ms), the job took 4 s to give way and curl kept
// 79-83 % over 15 s; at 10 ms, 92-95 %, and the job alone still filled the
// link. minTarget stays above the noise of the measurement (delayed ACKs,
// scheduling, millisecond timestamps).
var targetFor = func(base time.Duration) time.Duration { return min(YieldTarget, max(minTarget, base/4)) }

// yieldTrace, set by a test, sees every sample and the window after it.
var yieldTrace func(sample, cur, base time.Duration, w float64, phase int)

// minTarget is the smallest target delay (see targetFor).
const minTarget = 10 * time.Millisecond

// connWindow is one connection's share of the window, at least two of
// the connection's segments (mss, see Yielder: a share under one segment
// stalls the sender).
func (y *Yielder) connWindow(mss int) int {
	y.mu.Lock()
	defer y.mu.Unlock()
	return max(int(y.w)/max(y.conns, 1), 2*mss, minWindow)
}

// roundTrip is the current delay (0 before the first sample).
func (y *Yielder) roundTrip() time.Duration {
	y.mu.Lock()
	defer y.mu.Unlock()
	return y.rtt
}

func (y *Yielder) attach() { y.mu.Lock(); y.conns++; y.mu.Unlock() }
func (y *Yielder) detach() { y.mu.Lock(); y.conns--; y.mu.Unlock() }

// sampleAt is one delay sample and when it was taken.
type sampleAt struct {
	at  time.Time
	rtt time.Duration
}

// baseHistory keeps the minimum round trip of each of the last baseBuckets
// minutes (RFC 6817 §3.4.2): an old minimum ages out, so a route change
// is learnt within ten minutes.
type baseHistory struct {
	mins  [baseBuckets]time.Duration
	start time.Time // start of the newest bucket
	n     int       // buckets in use
	cur   int       // index of the newest
}

func (h *baseHistory) add(now time.Time, rtt time.Duration) {
	if h.n == 0 {
		h.start, h.n, h.mins[0] = now, 1, rtt
		return
	}
	for now.Sub(h.start) >= baseBucket {
		h.start = h.start.Add(baseBucket)
		h.cur = (h.cur + 1) % baseBuckets
		h.mins[h.cur] = rtt
		h.n = min(h.n+1, baseBuckets)
	}
	h.mins[h.cur] = min(h.mins[h.cur], rtt)
}

func (h *baseHistory) min() time.Duration {
	if h.n == 0 {
		return 0
	}
	m := h.mins[h.cur]
	for i := 1; i < h.n; i++ {
		m = min(m, h.mins[(h.cur-i+baseBuckets)%baseBuckets])
	}
	return m
}

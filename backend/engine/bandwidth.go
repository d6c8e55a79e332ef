package engine

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"ferry/backend/bits"
	"ferry/backend/clock"
)

// bandwidth applies the engine's caps: one shared by all background jobs
// (the global cap and the daily window's), and one per background priority.
// FOREGROUND jobs are never throttled, as in BITS.
type bandwidth struct {
	clk clock.Clock
	mu  sync.Mutex
	s   Settings
	bg  *rate.Limiter
	pri map[bits.JobPriority]*rate.Limiter
}

func newBandwidth(clk clock.Clock) *bandwidth {
	return &bandwidth{clk: clk, pri: map[bits.JobPriority]*rate.Limiter{}}
}

func (b *bandwidth) configure(s Settings) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s = Settings{}
	for k, v := range s {
		b.s[k] = v
	}
}

// nextEdge is the next local hour at which the daily window may open or
// close (zero when there is no window): the scheduler looks again then.
func (b *bandwidth) nextEdge(now time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.s.Get(KeyWindowStart) == b.s.Get(KeyWindowEnd) {
		return time.Time{}
	}
	t := now.Local()
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, t.Location())
}

// bgCap is the cap shared by background jobs at now (-1: none).
func (b *bandwidth) bgCap(now time.Time) int64 {
	c := b.s.Get(KeyBandwidthBackground)
	start, end := b.s.Get(KeyWindowStart), b.s.Get(KeyWindowEnd)
	if start != end {
		h := int64(now.Local().Hour())
		in := (start < end && h >= start && h < end) || (start > end && (h >= start || h < end))
		w := b.s.Get(KeyBandwidthOutWindow)
		if in {
			w = b.s.Get(KeyBandwidthInWindow)
		}
		c = minCap(c, w)
	}
	return c
}

func (b *bandwidth) priCap(p bits.JobPriority) int64 {
	switch p {
	case bits.PriorityHigh:
		return b.s.Get(KeyBandwidthHigh)
	case bits.PriorityNormal:
		return b.s.Get(KeyBandwidthNormal)
	case bits.PriorityLow:
		return b.s.Get(KeyBandwidthLow)
	}
	return -1
}

// minCap combines caps where -1 means none.
func minCap(a, b int64) int64 {
	switch {
	case a < 0:
		return b
	case b < 0:
		return a
	case a < b:
		return a
	}
	return b
}

// capFor is a job's effective cap at now: -1 none, 0 blocked.
func (b *bandwidth) capFor(p bits.JobPriority, now time.Time) int64 {
	if p == bits.PriorityForeground {
		return -1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return minCap(b.bgCap(now), b.priCap(p))
}

// limiterFor returns the limiter for a cap, updated to it (nil: none).
func limiterFor(l *rate.Limiter, c int64) *rate.Limiter {
	if c < 0 {
		return nil
	}
	burst := int(c / 8)
	if burst < 16<<10 {
		burst = 16 << 10
	}
	if burst > 1<<20 {
		burst = 1 << 20
	}
	if l == nil {
		return rate.NewLimiter(rate.Limit(c), burst)
	}
	if l.Limit() != rate.Limit(c) {
		l.SetLimit(rate.Limit(c))
		l.SetBurst(burst)
	}
	return l
}

// waiter is the limiter of one priority, for transfer.Limit.
func (b *bandwidth) waiter(p bits.JobPriority) func(ctx context.Context, n int) error {
	return func(ctx context.Context, n int) error { return b.wait(ctx, p, n) }
}

// wait blocks until n bytes of a job of priority p may be written.
func (b *bandwidth) wait(ctx context.Context, p bits.JobPriority, n int) error {
	if p == bits.PriorityForeground {
		return nil
	}
	b.mu.Lock()
	now := b.clk.Now()
	b.bg = limiterFor(b.bg, b.bgCap(now))
	pl := limiterFor(b.pri[p], b.priCap(p))
	b.pri[p] = pl
	ls := []*rate.Limiter{b.bg, pl}
	b.mu.Unlock()
	for _, l := range ls {
		if l == nil || l.Limit() == 0 {
			continue // a zero cap is enforced by the scheduler, not here
		}
		for left := n; left > 0; {
			k := min(left, l.Burst())
			if err := l.WaitN(ctx, k); err != nil {
				return err
			}
			left -= k
		}
	}
	return nil
}

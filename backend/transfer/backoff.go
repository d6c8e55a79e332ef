package transfer

import (
	"context"
	"time"

	"ferry/backend/clock"
)

// Backoff is the pause before each retry: Initial, doubled after each one
// up to Max. The quick retry of a dropped transfer (Retry) and the engine's
// Cancel-Session resend both pace themselves with it. A Backoff is a value:
// each loop takes its own copy.
type Backoff struct {
	Initial, Max time.Duration
	// Clock times the pauses (nil: the real clock).
	Clock clock.Clock
	next  time.Duration
}

// Next returns the next pause and advances.
func (b *Backoff) Next() time.Duration {
	d := b.next
	if d <= 0 {
		d = b.Initial
	}
	b.next = min(2*d, b.Max)
	if d > b.Max && b.Max > 0 {
		d = b.Max
	}
	return d
}

// Wait sleeps for the next pause, or until ctx ends (its error).
func (b *Backoff) Wait(ctx context.Context) error {
	d := b.Next()
	if d <= 0 {
		return ctx.Err()
	}
	clk := b.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

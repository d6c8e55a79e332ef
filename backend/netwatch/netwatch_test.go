package netwatch

import (
	"testing"
	"time"
)

// coalesce sends one signal per burst, after the burst settles, and at the
// latest MaxDelay after its first event.
func TestCoalesce(t *testing.T) {
	events, out := make(chan struct{}), make(chan struct{}, 1)
	go coalesce(events, out)
	defer close(events)
	start := time.Now()
	for range 5 {
		events <- struct{}{}
		time.Sleep(Settle / 5)
	}
	<-out
	if d := time.Since(start); d < Settle {
		t.Fatalf("signalled after %v, before the burst settled", d)
	}
	select {
	case <-out:
		t.Fatal("one burst signalled twice")
	case <-time.After(2 * Settle):
	}
	// A burst that never settles is signalled after MaxDelay.
	start = time.Now()
	stop := time.After(MaxDelay + 2*Settle)
	got := false
loop:
	for {
		select {
		case <-stop:
			break loop
		case <-out:
			got = true
			break loop
		case events <- struct{}{}:
			time.Sleep(Settle / 5)
		}
	}
	if !got {
		t.Fatalf("a continuous burst was not signalled within %v", time.Since(start))
	}
}

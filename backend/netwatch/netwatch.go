// Package netwatch tells when the machine's network changes (a link, an
// address or a route comes or goes), so that transfers waiting out a retry
// delay after a network failure can try again as soon as the network is
// back, as BITS does. It says only "something changed": what to do about it
// is the engine's business.
package netwatch

import (
	"errors"
	"time"
)

// Watcher reports network changes. Bursts (a link coming up brings its
// addresses and routes with it) are coalesced into one signal sent once the
// network has been quiet for Settle, or MaxDelay after the first change of
// the burst.
type Watcher interface {
	// Changes receives one value per burst of changes; it is never closed
	// while the Watcher is open.
	Changes() <-chan struct{}
	// Close stops watching.
	Close() error
}

const (
	// Settle: a burst is over after this long without a change.
	Settle = 300 * time.Millisecond
	// MaxDelay bounds how long a long burst holds the signal back.
	MaxDelay = 2 * time.Second
)

// ErrUnsupported: this platform has no network-change source here; retries
// then wait out their delays.
var ErrUnsupported = errors.New("network changes cannot be watched on this platform")

// coalesce turns raw events (one value per message read) into one signal
// per burst on out, until events is closed.
func coalesce(events <-chan struct{}, out chan<- struct{}) {
	var quiet, limit <-chan time.Time
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
			quiet = time.After(Settle)
			if limit == nil {
				limit = time.After(MaxDelay)
			}
			continue
		case <-quiet:
		case <-limit:
		}
		quiet, limit = nil, nil
		select {
		case out <- struct{}{}:
		default: // one is already waiting
		}
	}
}

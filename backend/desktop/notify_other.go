//go:build !linux && !darwin && !windows

package desktop

import (
	"fmt"

	"ferry/backend/engine"
)

// Notifier shows desktop notifications; this platform has none yet
// (Linux, macOS and Windows have theirs).
type Notifier struct{}

// NewNotifier returns ErrUnsupported on this platform.
func NewNotifier(onOpen func(id string)) (*Notifier, error) {
	return nil, fmt.Errorf("notifications: %w", ErrUnsupported)
}

// Run returns when events is closed.
func (n *Notifier) Run(events <-chan engine.Event) {
	for range events {
	}
}

// Close does nothing here.
func (n *Notifier) Close() error { return nil }

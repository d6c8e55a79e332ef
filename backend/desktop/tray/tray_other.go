//go:build !linux && !(darwin && cgo) && !windows

// Package tray is the desktop app's tray icon; this platform has none yet
// (and macOS needs cgo for it).
package tray

import (
	"fmt"

	"ferry/backend/bits"
	"ferry/backend/desktop"
	"ferry/backend/engine"
)

// Tray is the tray icon; this platform has none yet: failing here makes
// the app quit on window close instead of hiding into an icon that is not
// there.
type Tray struct{}

// Start returns ErrUnsupported on this platform.
func Start(desktop.Actions, func() []bits.JobInfo, <-chan engine.Event) (*Tray, error) {
	return nil, fmt.Errorf("tray: %w", desktop.ErrUnsupported)
}

// Available is always false here.
func (t *Tray) Available() bool { return false }

// Stop does nothing here.
func (t *Tray) Stop() {}

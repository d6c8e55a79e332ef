//go:build !linux

package desktop

import (
	"fmt"

	"ferry/backend/bits"
	"ferry/backend/engine"
)

// Tray is the tray icon; this platform has none yet. fyne.io/systray
// supports macOS and Windows, but there it must share the native main loop
// with Wails, which is not written or tested yet: failing here makes the
// app quit on window close instead of hiding into an icon that may not be
// there.
type Tray struct{}

// StartTray returns ErrUnsupported on this platform.
func StartTray(Actions, func() []bits.JobInfo, <-chan engine.Event) (*Tray, error) {
	return nil, fmt.Errorf("tray: %w", ErrUnsupported)
}

// Available is always false here.
func (t *Tray) Available() bool { return false }

// Stop does nothing here.
func (t *Tray) Stop() {}

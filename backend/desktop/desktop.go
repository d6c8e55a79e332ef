// Package desktop holds what Ferry shows outside its window, except the
// tray icon (package desktop/tray, which only the desktop app links): OS
// notifications, the drawn icons, and the single-instance handshake. It is
// kept out of the engine: the engine only publishes events, and this
// package consumes them, so the headless service and the desktop app share
// the same notifier.
//
// Notifications go through org.freedesktop.Notifications over D-Bus on
// Linux, toasts on Windows and osascript on macOS; elsewhere the notifier
// constructor returns ErrUnsupported and the caller carries on without it.
// The single-instance handshake works on every unix and on Windows.
package desktop

import "errors"

var (
	// ErrUnsupported reports a feature not implemented on this platform.
	ErrUnsupported = errors.New("not supported on this platform")
	// ErrNoSessionBus reports that no D-Bus session bus is reachable
	// (a headless server, a container, ssh without a session).
	ErrNoSessionBus = errors.New("no D-Bus session bus")
	// ErrNoTrayHost reports a session without a StatusNotifierItem host
	// (no org.kde.StatusNotifierWatcher, or one with no host behind it):
	// an icon registered there would never be seen, so the window must not
	// hide into it.
	ErrNoTrayHost = errors.New("no system tray (StatusNotifierWatcher) in this session")
	// ErrNoNotificationServer reports a session bus without
	// org.freedesktop.Notifications.
	ErrNoNotificationServer = errors.New("no notification server (org.freedesktop.Notifications) on the session bus")
)

// Actions are what the tray's menu does. A nil func leaves its item
// disabled (a nil OpenJob makes the recent-job items informational only).
// Each runs on its own goroutine, so it may block or stop the tray.
type Actions struct {
	Show       func()
	SuspendAll func()
	ResumeAll  func()
	OpenJob    func(id string)
	Quit       func()
}

// Package desktop holds what Ferry shows outside its window: the tray icon,
// OS notifications and the single-instance handshake. It is kept out of the
// engine: the engine only publishes events, and this package consumes them,
// so the headless service and the desktop app share the same notifier.
//
// Linux is fully supported (StatusNotifierItem and org.freedesktop.Notifications
// over D-Bus). Elsewhere the tray and notifier constructors return
// ErrUnsupported and the caller carries on without them; the single-instance
// handshake works on every unix.
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

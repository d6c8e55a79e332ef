package desktop

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"ferry/backend/engine"
)

// osascript ships with every macOS; it needs no cgo and no app bundle,
// unlike UserNotifications, so the headless engine can notify too.
const osascript = "/usr/bin/osascript"

// notifyTimeout bounds one notification: a hung osascript must never stall
// the engine's event consumers.
const notifyTimeout = 5 * time.Second

// Notifier shows a macOS notification (Notification Center, through
// AppleScript's `display notification`) when a job transfers or fails, as
// its notify flags allow. Clicking one does not open the job: AppleScript
// notifications carry no action. Not yet run on a Mac (see the README).
type Notifier struct {
	mu     sync.Mutex
	failed bool // the last notification failed: logged once, not per event

	done      chan struct{}
	closeOnce sync.Once
}

// NewNotifier checks for osascript; onOpen is not used on macOS.
func NewNotifier(onOpen func(id string)) (*Notifier, error) {
	if _, err := os.Stat(osascript); err != nil {
		return nil, fmt.Errorf("notifications: %w: %v", ErrUnsupported, err)
	}
	return &Notifier{done: make(chan struct{})}, nil
}

// Run shows the notifications for events until events is closed or Close
// is called.
func (n *Notifier) Run(events <-chan engine.Event) {
	deliver(n.done, events, n.send)
}

// Close ends Run. Safe more than once.
func (n *Notifier) Close() error {
	n.closeOnce.Do(func() { close(n.done) })
	return nil
}

func (n *Notifier) send(msg notification) {
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, osascript, appleScriptArgs(msg)...).CombinedOutput()
	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil {
		if !n.failed {
			slog.Warn("desktop notification failed; further failures are not logged until one succeeds",
				"job", msg.jobID, "err", err, "output", string(out))
		}
		n.failed = true
		return
	}
	n.failed = false
}

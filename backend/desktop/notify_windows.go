//go:build windows

package desktop

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"git.sr.ht/~jackmordaunt/go-toast/v2"

	"ferry/backend/engine"
)

// Windows toast notifications through git.sr.ht/~jackmordaunt/go-toast (the
// library Wails itself uses for its notifications): WinRT's
// ToastNotificationManager over COM, with PowerShell as its fallback.

// toastAppID names Ferry in the Action Centre; toastGUID is the COM class
// that Windows activates when a toast is clicked after Ferry has exited.
const (
	toastAppID = "Ferry"
	toastGUID  = "{6F0A1C2E-8B5D-4E9A-9C3F-2D7B1E4A5C60}"
	openPrefix = "open:"
)

// Notifier shows toasts for job events.
type Notifier struct {
	onOpen    func(id string)
	done      chan struct{}
	closeOnce sync.Once
	failOnce  sync.Once
}

// NewNotifier registers Ferry with the toast system (HKCU registry keys:
// its name and the activation class). onOpen may be nil: clicks then only
// dismiss the toast. No activation executable is registered: Windows would
// start it with -Embedding after Ferry has exited, which neither program
// serves, so a late click only dismisses the toast.
func NewNotifier(onOpen func(id string)) (*Notifier, error) {
	if err := toast.SetAppData(toast.AppData{AppID: toastAppID, GUID: toastGUID}); err != nil {
		return nil, fmt.Errorf("notifications: register the app: %w", err)
	}
	n := &Notifier{onOpen: onOpen, done: make(chan struct{})}
	if onOpen != nil {
		toast.SetActivationCallback(func(args string, _ []toast.UserData) {
			if id, ok := openedJob(args); ok {
				onOpen(id)
			}
		})
	}
	return n, nil
}

// Run shows the toasts for events until events is closed or Close is called.
func (n *Notifier) Run(events <-chan engine.Event) {
	deliver(n.done, events, func(msg notification) {
		t := toastFor(msg)
		if err := t.Push(); err != nil {
			// Once: a system without toasts (Server Core, Wine) fails
			// every time, and the transfers matter more than the log.
			n.failOnce.Do(func() { slog.Warn("desktop notifications fail", "err", err) })
		}
	})
}

// Close ends Run. Safe more than once.
func (n *Notifier) Close() error {
	n.closeOnce.Do(func() { close(n.done) })
	return nil
}

// toastFor is the toast of one notification; clicking it opens the job.
func toastFor(msg notification) toast.Notification {
	return toast.Notification{
		AppID:               toastAppID,
		Title:               msg.summary,
		Body:                msg.body,
		ActivationArguments: openPrefix + msg.jobID,
	}
}

// openedJob reads the job id back from a toast's activation arguments.
func openedJob(args string) (string, bool) {
	id, ok := strings.CutPrefix(args, openPrefix)
	return id, ok && id != ""
}

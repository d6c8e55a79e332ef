//go:build darwin && cgo

package tray

/*
#include <dispatch/dispatch.h>
#include <pthread.h>
#include <stdint.h>

extern void ferryTrayMain(uintptr_t h);

static inline void ferryTrayTrampoline(void *h) { ferryTrayMain((uintptr_t)h); }

// ferryTrayOnMain runs the Go func behind h on the main thread and waits
// for it: directly when called there, else through the main queue, which
// the main thread drains once Wails runs its NSApplication loop.
static inline void ferryTrayOnMain(uintptr_t h) {
	if (pthread_main_np()) {
		ferryTrayMain(h);
		return;
	}
	dispatch_sync_f(dispatch_get_main_queue(), (void *)h, ferryTrayTrampoline);
}
*/
import "C"

import "runtime/cgo"

// host is the macOS side of the tray: the menu bar is always there, so the
// item is always shown. Not yet built or run on a Mac (see the README).
type host struct{}

func openHost() (*host, error) { return &host{}, nil }

// menuLabel is the label itself: NSMenu has no mnemonic markers.
func menuLabel(s string) string { return s }

// start runs systray's start on the main thread: AppKit creates status
// items only there, and the app starts the tray from Wails' OnStartup,
// which runs on another thread.
func (h *host) start(start func()) {
	handle := cgo.NewHandle(start)
	defer handle.Delete()
	C.ferryTrayOnMain(C.uintptr_t(handle))
}

//export ferryTrayMain
func ferryTrayMain(h C.uintptr_t) { cgo.Handle(h).Value().(func())() }

// afterStart sets the icon and texts again: systray drops what is set
// before its status item exists.
func (h *host) afterStart(apply func()) { apply() }

func (h *host) exported() error { return nil }
func (h *host) shown() bool     { return true }
func (h *host) close()          {}

// follow has nothing to follow: the menu bar does not come and go.
func (h *host) follow(stop <-chan struct{}, _ func(bool)) { <-stop }

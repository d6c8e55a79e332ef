//go:build linux || (darwin && cgo)

// Package tray is the desktop app's tray icon (fyne.io/systray): a
// StatusNotifierItem over D-Bus on Linux, an NSStatusItem on macOS. It is
// apart from package desktop so that the headless engine (ferry), which
// uses desktop's notifier, does not link systray, whose init locks the
// main goroutine to its thread.
package tray

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"ferry/backend/bits"
	"ferry/backend/desktop"
	"ferry/backend/engine"

	"fyne.io/systray"
)

// trayClaimed guards fyne.io/systray, which keeps its item, menu and quit
// channel in package variables: it can run once per process, and a second
// run after a stop would find its quit channel already closed.
var trayClaimed atomic.Bool

// Tray is the tray icon of the desktop app: a title and tooltip with the
// number of active transfers and the total rate, an icon per state, and a
// menu. It redraws from engine events, at most about once a second.
type Tray struct {
	actions desktop.Actions
	host    *host  // the platform's side: where the icon is shown, and whether
	end     func() // systray's end: drops the item

	lifecycle

	show, suspend, resume, quit *systray.MenuItem
	slots                       [recentJobs]*systray.MenuItem

	mu       sync.Mutex
	slotJobs [recentJobs]string // the job behind each recent-job item

	// What the panel shows now; only the run goroutine reads or writes it
	// after start, so unchanged items cost no D-Bus signals.
	shown struct {
		text    string
		icon    desktop.Icon
		label   [recentJobs]string
		enabled [recentJobs]bool
		visible [recentJobs]bool
	}
}

// Start shows the tray icon and keeps it up to date from events (the caller
// subscribes before calling, so nothing is missed between the jobs snapshot
// and the first event).
//
// Where the platform has no tray at all (Linux without a session bus) it
// fails without touching the process' tray state. A session whose tray host
// is not there yet gets the icon all the same, unavailable: Available turns
// true when a panel appears (at login, autostarted programs race the
// panel), and false again while it is gone.
//
// fyne.io/systray's external-loop mode is used: on Linux it speaks D-Bus
// from its own goroutines and needs neither GTK nor Wails' main loop, and
// unlike getlantern/systray its Quit does not end Wails' GTK loop. It is
// pinned at v1.12.1: v1.12.2's first GetLayout starts a goroutine that
// bumps the menu revision under a different lock than GetLayout reads it
// with, a data race that `go test -race` reports.
// Only one tray can be started per process.
func Start(actions desktop.Actions, jobs func() []bits.JobInfo, events <-chan engine.Event) (*Tray, error) {
	h, err := openHost()
	if err != nil {
		return nil, fmt.Errorf("tray: %w", err)
	}
	if !trayClaimed.CompareAndSwap(false, true) {
		h.close()
		return nil, errors.New("tray: already started once in this process")
	}
	t := &Tray{actions: actions, host: h, lifecycle: newLifecycle()}

	ready := make(chan struct{})
	start, end := systray.RunWithExternalLoop(func() { t.buildMenu(); close(ready) }, nil)
	if actions.Show != nil {
		// A left click on the icon shows the window, as in every tray app;
		// the menu stays on the right click. systray calls this on its own
		// goroutine or thread, which must not wait for the window.
		systray.SetOnTapped(func() { go actions.Show() })
	}
	idle := newTrayModel().summary(time.Now())
	setIdle := func() {
		systray.SetIcon(desktop.IconPNG(idle.icon))
		systray.SetTitle(idle.text())
		systray.SetTooltip(idle.text())
	}
	setIdle()
	t.shown.text, t.shown.icon = idle.text(), idle.icon
	h.start(start)
	<-ready
	h.afterStart(setIdle)

	if err := h.exported(); err != nil {
		endSystray(end)
		h.close()
		return nil, fmt.Errorf("tray: %w", err)
	}
	t.end = end
	t.available.Store(h.shown())

	t.spawn(func() { h.follow(t.stop, t.available.Store) })
	t.listen(t.show, actions.Show)
	t.listen(t.suspend, actions.SuspendAll)
	t.listen(t.resume, actions.ResumeAll)
	t.listen(t.quit, actions.Quit)
	for i, it := range t.slots {
		t.listen(it, func() { t.openSlot(i) })
	}
	t.spawn(func() { follow(t.stop, jobs, events, t.render) })
	return t, nil
}

// Available reports whether a tray host shows the icon now, so that closing
// the window may hide it. It turns true when a panel appears and false
// while none is there.
func (t *Tray) Available() bool { return t != nil && t.available.Load() }

// Stop removes the icon; it does not call any action. Safe on a nil Tray
// and more than once.
func (t *Tray) Stop() {
	if t == nil {
		return
	}
	t.shutdown(func() {
		t.host.close()
		endSystray(t.end)
	})
}

// endSystray runs systray's end func, which closes systray's connection
// and so drops the item from every host. systray dereferences that
// connection without a check, and it is nil if its start failed half-way
// (it only logs such failures): there is nothing to drop then.
func endSystray(end func()) {
	defer func() {
		if r := recover(); r != nil {
			slog.Warn("tray: stopping a half-started systray", "panic", r)
		}
	}()
	end()
}

// buildMenu runs in systray's onReady callback, where every platform of
// systray accepts new items.
func (t *Tray) buildMenu() {
	t.show = systray.AddMenuItem(itemShow.label, itemShow.tip)
	t.suspend = systray.AddMenuItem(itemSuspend.label, itemSuspend.tip)
	t.resume = systray.AddMenuItem(itemResume.label, itemResume.tip)
	systray.AddSeparator()
	for i := range t.slots {
		t.slots[i] = systray.AddMenuItem("", "")
	}
	systray.AddSeparator()
	t.quit = systray.AddMenuItem(itemQuit.label, itemQuit.tip)
	for item, f := range map[*systray.MenuItem]func(){
		t.show: t.actions.Show, t.suspend: t.actions.SuspendAll, t.resume: t.actions.ResumeAll, t.quit: t.actions.Quit,
	} {
		if f == nil {
			item.Disable()
		}
	}
	// Slot 0 says noTransfers until there are jobs; the others hide, so
	// the two separators never meet.
	for i, it := range t.slots {
		t.shown.enabled[i] = true
		t.shown.visible[i] = true
		t.setSlot(i, it, "", false, i == 0)
	}
	t.setSlot(0, t.slots[0], noTransfers, false, true)
}

// listen runs f on its own goroutine for each click of item, so that a
// slow action (or Quit, which stops this tray) never blocks the menu.
// systray drops a click when nobody is receiving, hence a receiver per item.
func (t *Tray) listen(item *systray.MenuItem, f func()) {
	t.spawn(func() {
		for {
			select {
			case <-t.stop:
				return
			case _, ok := <-item.ClickedCh:
				if !ok {
					return
				}
				if f != nil {
					go f()
				}
			}
		}
	})
}

func (t *Tray) openSlot(i int) {
	t.mu.Lock()
	id := t.slotJobs[i]
	t.mu.Unlock()
	if id != "" && t.actions.OpenJob != nil {
		t.actions.OpenJob(id)
	}
}

// render sends to the panel what changed since the last render.
//
// The order is deliberate. fyne.io/systray's SetIcon stores the new pixmap
// into the same array that earlier IconPixmap property replies still
// reference (godbus' prop package copies slices shallowly). Setting the
// title first sends a signal on systray's connection, which orders every
// reply already sent before that overwrite; and every state change of the
// icon also changes the text, so a watcher that sees the new tooltip knows
// the icon is final.
func (t *Tray) render(s traySummary) {
	text := s.text()
	if text != t.shown.text {
		systray.SetTitle(text)
	}
	if s.icon != t.shown.icon {
		systray.SetIcon(desktop.IconPNG(s.icon))
		t.shown.icon = s.icon
	}
	if text != t.shown.text {
		systray.SetTooltip(text)
		t.shown.text = text
	}
	var ids [recentJobs]string
	for i := range s.recent {
		ids[i] = s.recent[i].ID
	}
	t.mu.Lock()
	t.slotJobs = ids
	t.mu.Unlock()
	for i, it := range t.slots {
		switch {
		case i < len(s.recent):
			t.setSlot(i, it, menuLabel(jobLabel(s.recent[i])), t.actions.OpenJob != nil, true)
		case i == 0:
			t.setSlot(i, it, noTransfers, false, true)
		default:
			t.setSlot(i, it, t.shown.label[i], false, false)
		}
	}
}

func (t *Tray) setSlot(i int, it *systray.MenuItem, label string, enabled, visible bool) {
	if label != t.shown.label[i] {
		it.SetTitle(label)
		t.shown.label[i] = label
	}
	if enabled != t.shown.enabled[i] {
		if enabled {
			it.Enable()
		} else {
			it.Disable()
		}
		t.shown.enabled[i] = enabled
	}
	if visible != t.shown.visible[i] {
		if visible {
			it.Show()
		} else {
			it.Hide()
		}
		t.shown.visible[i] = visible
	}
}

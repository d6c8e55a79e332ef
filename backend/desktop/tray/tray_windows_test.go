//go:build windows

package tray

import (
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"ferry/backend/bits"
	"ferry/backend/desktop"
	"ferry/backend/engine"
)

var (
	procFindWindowW      = user32.NewProc("FindWindowW")
	procGetIconInfo      = user32.NewProc("GetIconInfo")
	procGetMenuItemCount = user32.NewProc("GetMenuItemCount")
	procGetMenuStringW   = user32.NewProc("GetMenuStringW")
	procGetMenuState     = user32.NewProc("GetMenuState")
	procIsWindow         = user32.NewProc("IsWindow")
)

const (
	wmKeyDown = 0x0100
	vkReturn  = 0x0D
	vkDown    = 0x28
)

func findWindow(class string) windows.HWND {
	name, _ := windows.UTF16PtrFromString(class)
	h, _, _ := procFindWindowW.Call(uintptr(unsafe.Pointer(name)), 0)
	return windows.HWND(h)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func received(t *testing.T, what string, ch <-chan string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	return ""
}

// recorder is a set of tray actions that report which one ran.
func recorder() (desktop.Actions, <-chan string) {
	ran := make(chan string, 16)
	return desktop.Actions{
		Show:       func() { ran <- "show" },
		SuspendAll: func() { ran <- "suspend" },
		ResumeAll:  func() { ran <- "resume" },
		OpenJob:    func(id string) { ran <- "open " + id },
		Quit:       func() { ran <- "quit" },
	}, ran
}

// click is what the shell sends for a left click on the icon.
func click(tr *Tray) uintptr {
	if tr.version4.Load() {
		return ninSelect | iconID<<16
	}
	return wmLButtonUp
}

// The icon in the notification area of a real taskbar: Wine's explorer,
// which the Windows tests run under (in a virtual X display). It is there
// while the tray runs and gone after Stop; a left click shows the window,
// and the context menu, driven with the keyboard, runs the chosen item.
func TestNotificationAreaIcon(t *testing.T) {
	if findWindow("Shell_TrayWnd") == 0 {
		// The first window of a session starts explorer; give it a moment.
		createWindow()
		waitFor(t, "a taskbar (Shell_TrayWnd) in this session", func() bool { return findWindow("Shell_TrayWnd") != 0 })
	}
	actions, ran := recorder()
	events := make(chan engine.Event, 4)
	tr, err := Start(actions, func() []bits.JobInfo {
		return []bits.JobInfo{job("j1", "nightly & more", bits.StateSuspended, 0, 10, time.Now())}
	}, events)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Stop()
	waitFor(t, "the taskbar to take the icon", tr.Available)
	if !tr.version4.Load() {
		t.Error("the taskbar refused NOTIFYICON_VERSION_4")
	}
	probe := notifyIconData{Wnd: tr.hwnd, ID: iconID}
	if !shellNotifyIcon(nimModify, &probe) {
		t.Fatal("the taskbar does not know the icon")
	}

	postMessage(tr.hwnd, wmTrayIcon, 0, click(tr))
	if got := received(t, "a click's action", ran); got != "show" {
		t.Errorf("a left click did %q, want show", got)
	}

	// The context menu at a point of the screen; its items: Show Ferry,
	// Suspend all, Resume all, —, the job, —, Quit. Down twice is Suspend all.
	waitFor(t, "the job in the tray", func() bool { return len(tr.current().recent) == 1 })
	if tr.version4.Load() {
		postMessage(tr.hwnd, wmTrayIcon, 200|300<<16, wmContextMenu|iconID<<16)
	} else {
		postMessage(tr.hwnd, wmTrayIcon, 0, wmRButtonUp)
	}
	var popup windows.HWND
	waitFor(t, "the context menu", func() bool { popup = findWindow("#32768"); return popup != 0 })
	for _, key := range []uintptr{vkDown, vkDown, vkReturn} {
		postMessage(popup, wmKeyDown, key, 0)
	}
	if got := received(t, "the menu's action", ran); got != "suspend" {
		t.Errorf("Down, Down, Enter in the menu did %q, want suspend", got)
	}

	tr.Stop()
	if tr.Available() {
		t.Error("Available after Stop")
	}
	if alive, _, _ := procIsWindow.Call(uintptr(tr.hwnd)); alive != 0 {
		t.Error("the tray's window outlived Stop")
	}
	if shellNotifyIcon(nimModify, &probe) {
		t.Error("the icon is still in the notification area after Stop")
	}
	select {
	case got := <-ran:
		t.Errorf("Stop ran %q", got)
	default:
	}
}

// fakeShell stands in for Shell_NotifyIconW where the test needs a taskbar
// that comes and goes, which Wine's cannot.
type fakeShell struct {
	mu    sync.Mutex
	up    bool
	has   bool
	calls []shellCall
}

type shellCall struct {
	msg   uint32
	flags uint32
	icon  windows.Handle
	tip   string
}

func (f *fakeShell) notify(m uint32, nid *notifyIconData) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, shellCall{m, nid.Flags, nid.Icon, windows.UTF16ToString(nid.Tip[:])})
	if !f.up {
		return false
	}
	switch m {
	case nimAdd:
		if f.has {
			return false
		}
		f.has = true
	case nimModify, nimSetVersion:
		return f.has
	case nimDelete:
		ok := f.has
		f.has = false
		return ok
	}
	return true
}

// setUp starts (the icons of a new taskbar are none) or stops the taskbar.
func (f *fakeShell) setUp(up bool) {
	f.mu.Lock()
	f.up, f.has = up, false
	f.mu.Unlock()
}

// last is the newest call of kind m that the taskbar took.
func (f *fakeShell) last(m uint32) (shellCall, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.calls) - 1; i >= 0; i-- {
		if f.calls[i].msg == m {
			return f.calls[i], true
		}
	}
	return shellCall{}, false
}

func (f *fakeShell) holds() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.has
}

// A taskbar that starts after Ferry (explorer racing the programs it
// autostarts at login) gets the icon when it announces itself; one that
// goes away and comes back without a word gets it from the retry timer;
// and what the icon shows follows the jobs.
func TestTrayFollowsTheTaskbar(t *testing.T) {
	shell := &fakeShell{}
	actions, _ := recorder()
	events := make(chan engine.Event, 4)
	// The retry timer armed here must not be what adds the icon.
	tr, err := start(actions, nil, events, shell.notify, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Stop()
	if tr.Available() {
		t.Fatal("Available without a taskbar")
	}

	shell.setUp(true)
	postMessage(tr.hwnd, wmTaskbarCreated(), 0, 0)
	waitFor(t, "the icon on the new taskbar", tr.Available)
	add, _ := shell.last(nimAdd)
	if add.icon == 0 || add.tip != "Ferry — idle" || add.flags&(nifMessage|nifIcon|nifTip|nifShowTip) != nifMessage|nifIcon|nifTip|nifShowTip {
		t.Errorf("the icon was added as %+v", add)
	}
	if !tr.version4.Load() {
		t.Error("the version was not set after the add")
	}
	idle := add.icon

	// A transfer: the icon and the tooltip change.
	events <- engine.Event{Kind: engine.EventModified, Job: job("j1", "nightly", bits.StateTransferring, 5, 10, time.Now())}
	waitFor(t, "the busy icon", func() bool {
		c, _ := shell.last(nimModify)
		return strings.HasPrefix(c.tip, "Ferry — 1 active") && c.icon != idle && c.icon != 0
	})

	// explorer dies: the next change finds no taskbar.
	tr.retry.Store(int64(200 * time.Millisecond))
	shell.setUp(false)
	events <- engine.Event{Kind: engine.EventError, Job: job("j1", "nightly", bits.StateError, 5, 10, time.Now())}
	waitFor(t, "the icon to count as gone", func() bool { return !tr.Available() })
	// explorer is back, and says nothing: the timer adds the icon again,
	// with what it shows now.
	shell.setUp(true)
	waitFor(t, "the icon to return", tr.Available)
	if c, _ := shell.last(nimAdd); c.tip != "Ferry — 1 failed" {
		t.Errorf("re-added with the tooltip %q", c.tip)
	}
	// A second TaskbarCreated (Windows sends one when the scaling changes)
	// keeps the icon that is there.
	postMessage(tr.hwnd, wmTaskbarCreated(), 0, 0)
	time.Sleep(100 * time.Millisecond)
	if !tr.Available() || !shell.holds() {
		t.Error("a second TaskbarCreated lost the icon")
	}

	tr.Stop()
	if shell.holds() {
		t.Error("Stop left the icon on the taskbar")
	}
}

// The tooltip fits szTip (127 UTF-16 units and a NUL), cut between
// characters.
func TestSetTip(t *testing.T) {
	var tip [128]uint16
	setTip(&tip, strings.Repeat("x", 300))
	if got := windows.UTF16ToString(tip[:]); got != strings.Repeat("x", 127) || tip[127] != 0 {
		t.Errorf("a long tip became %d units", len(got))
	}
	setTip(&tip, strings.Repeat("x", 126)+"😀")
	if got := windows.UTF16ToString(tip[:]); got != strings.Repeat("x", 126) {
		t.Errorf("a surrogate pair across the limit: %q", got)
	}
	setTip(&tip, "short")
	if got := windows.UTF16ToString(tip[:]); got != "short" {
		t.Errorf("a short tip after a long one: %q", got)
	}
}

// The context menu lists the fixed items and the recent jobs (names with
// "&" escaped), greys what has no action, and runs the right one.
func TestMenu(t *testing.T) {
	actions, ran := recorder()
	s := newTrayModel()
	now := time.Now()
	s.set(job("j1", "Q&A", bits.StateTransferring, 1, 4, time.Now()), now)
	entries := menuEntries(s.summary(now), actions)
	menu, err := buildMenu(entries)
	if err != nil {
		t.Fatal(err)
	}
	defer procDestroyMenu.Call(uintptr(menu))
	want := []string{"Show Ferry", "Suspend all", "Resume all", "---", "Q&&A — Transferring 25%", "---", "Quit"}
	n, _, _ := procGetMenuItemCount.Call(uintptr(menu))
	if int(n) != len(want) {
		t.Fatalf("%d items, want %d", n, len(want))
	}
	for i, w := range want {
		state, _, _ := procGetMenuState.Call(uintptr(menu), uintptr(i), 0x400) // MF_BYPOSITION
		if w == "---" {
			if state&mfSeparator == 0 {
				t.Errorf("item %d is not a separator", i)
			}
			continue
		}
		buf := make([]uint16, 128)
		procGetMenuStringW.Call(uintptr(menu), uintptr(i), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0x400)
		if got := windows.UTF16ToString(buf); got != w {
			t.Errorf("item %d is %q, want %q", i, got, w)
		}
		if state&mfGrayed != 0 {
			t.Errorf("item %q is greyed", w)
		}
	}
	entries[4].do()
	if got := <-ran; got != "open j1" {
		t.Errorf("the job's item did %q", got)
	}

	// No jobs, no actions: a greyed "No transfers" and greyed items.
	entries = menuEntries(newTrayModel().summary(now), desktop.Actions{})
	menu2, err := buildMenu(entries)
	if err != nil {
		t.Fatal(err)
	}
	defer procDestroyMenu.Call(uintptr(menu2))
	for i, e := range entries {
		state, _, _ := procGetMenuState.Call(uintptr(menu2), uintptr(i), 0x400)
		if e.label != "" && state&mfGrayed == 0 {
			t.Errorf("item %q is enabled without an action", e.label)
		}
	}
	if entries[4].label != noTransfers {
		t.Errorf("the empty menu lists %q", entries[4].label)
	}
}

// The drawn icons become real icons of the notification area's size.
func TestIconsAreIcons(t *testing.T) {
	w, h := smallIconSize()
	icon, err := createIcon(desktop.IconImage(desktop.IconTransferring, min(w, h)))
	if err != nil {
		t.Fatal(err)
	}
	defer destroyIcon(icon)
	var ii iconInfo
	if r, _, err := procGetIconInfo.Call(uintptr(icon), uintptr(unsafe.Pointer(&ii))); r == 0 {
		t.Fatalf("GetIconInfo: %v", err)
	}
	defer procDeleteObject.Call(uintptr(ii.Color))
	defer procDeleteObject.Call(uintptr(ii.Mask))
	if ii.Icon == 0 || ii.Color == 0 {
		t.Errorf("not a colour icon: %+v", ii)
	}
}

//go:build windows

// Package tray is the desktop app's tray icon. On Windows it is an icon in
// the taskbar's notification area (Shell_NotifyIcon), written here against
// Win32 rather than through fyne.io/systray, whose Windows side does not fit
// beside Wails: in external-loop mode it pumps messages on a goroutine that
// is not the thread its window belongs to (so clicks never arrive), a
// taskbar that is not there yet when it starts leaves it half-initialised
// for good, and it loads every icon from a temporary .ico file.
package tray

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"ferry/backend/bits"
	"ferry/backend/desktop"
	"ferry/backend/engine"
)

const (
	// The messages of the tray's window: the shell's notifications about
	// the icon (clicks, keys), and "draw the latest summary".
	wmTrayIcon = wmApp + 1
	wmRefresh  = wmApp + 2

	// retryTimer re-adds the icon every retryInterval while the taskbar
	// refuses it (not started yet, or restarting). TaskbarCreated usually
	// comes first; the timer covers a taskbar that was up but busy.
	retryTimer    = 1
	retryInterval = 5 * time.Second

	iconID = 1 // the icon's id among this window's icons

	// closeWait bounds how long Stop waits for the tray thread.
	closeWait = 10 * time.Second
)

// Tray is the notification-area icon: a tooltip with the number of active
// transfers and the total rate, an icon per state, a left click that shows
// the window, and a context menu (right click, Shift+F10) with the same
// items as on Linux. Its window and icon live on a thread of their own,
// locked to its goroutine, which pumps the window's messages: Wails' loop
// runs on the main thread and never sees them.
type Tray struct {
	actions desktop.Actions
	shell   func(msg uint32, nid *notifyIconData) bool // Shell_NotifyIconW; tests replace it

	hwnd     windows.HWND // set before Start returns
	retry    atomic.Int64 // the retry timer's period (a time.Duration); tests shorten it
	version4 atomic.Bool  // the taskbar took NOTIFYICON_VERSION_4
	ended    chan struct{}

	lifecycle // available: the taskbar shows the icon

	mu     sync.Mutex
	latest traySummary // what the follow goroutine last handed over

	// Only the tray thread uses these.
	nid   notifyIconData
	added bool
	icons map[desktop.Icon]windows.Handle
	shown struct {
		text string
		icon desktop.Icon
	}
}

// trays maps a tray window to its Tray, for the window procedure.
var trays sync.Map // windows.HWND → *Tray

// Start adds the icon to the notification area and keeps it up to date
// from events (the caller subscribes before calling, so nothing is missed
// between the jobs snapshot and the first event). A taskbar that is not
// there yet (at login, autostarted programs race explorer) gets the icon
// when it appears: Available is false until then.
func Start(actions desktop.Actions, jobs func() []bits.JobInfo, events <-chan engine.Event) (*Tray, error) {
	return start(actions, jobs, events, shellNotifyIcon, retryInterval)
}

func start(actions desktop.Actions, jobs func() []bits.JobInfo, events <-chan engine.Event,
	shell func(uint32, *notifyIconData) bool, retry time.Duration) (*Tray, error) {
	t := &Tray{actions: actions, shell: shell, ended: make(chan struct{}), lifecycle: newLifecycle(),
		latest: newTrayModel().summary(time.Now())}
	t.retry.Store(int64(retry))
	ready := make(chan error, 1)
	go t.thread(ready)
	if err := <-ready; err != nil {
		return nil, fmt.Errorf("tray: %w", err)
	}
	t.spawn(func() { follow(t.stop, jobs, events, t.render) })
	return t, nil
}

// Available reports whether the taskbar shows the icon, so that closing the
// window may hide it. It turns true when a taskbar takes the icon, and
// false when one refuses it (explorer gone, until it restarts).
func (t *Tray) Available() bool { return t != nil && t.available.Load() }

// Stop removes the icon and ends the tray's thread; it calls no action.
// Safe on a nil Tray and more than once.
func (t *Tray) Stop() {
	if t == nil {
		return
	}
	t.shutdown(func() {
		if !postMessage(t.hwnd, wmClose, 0, 0) {
			slog.Warn("tray: could not ask the tray's window to close")
			return
		}
		select {
		case <-t.ended:
		case <-time.After(closeWait):
			slog.Warn("tray: the tray's thread did not end", "waited", closeWait)
		}
	})
}

// render hands a summary to the tray thread.
func (t *Tray) render(s traySummary) {
	t.mu.Lock()
	t.latest = s
	t.mu.Unlock()
	postMessage(t.hwnd, wmRefresh, 0, 0)
}

func (t *Tray) current() traySummary {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.latest
}

// thread creates the window and the icon, then pumps the window's messages
// until it is destroyed. The goroutine stays locked to its thread, so the
// thread ends with it.
func (t *Tray) thread(ready chan<- error) {
	runtime.LockOSThread()
	defer close(t.ended)
	hwnd, err := createWindow()
	if err != nil {
		ready <- err
		return
	}
	t.hwnd = hwnd
	trays.Store(hwnd, t)
	defer trays.Delete(hwnd)
	// Let TaskbarCreated through when Ferry runs elevated (UIPI would drop
	// a message from the less privileged explorer).
	procChangeWindowMessageFilterEx.Call(uintptr(hwnd), uintptr(wmTaskbarCreated()), msgfltAllow, 0)

	w, h := smallIconSize()
	t.icons = map[desktop.Icon]windows.Handle{}
	defer func() {
		for _, icon := range t.icons {
			destroyIcon(icon)
		}
	}()
	for _, st := range []desktop.Icon{desktop.IconIdle, desktop.IconTransferring, desktop.IconError} {
		icon, err := createIcon(desktop.IconImage(st, min(w, h)))
		if err != nil {
			procDestroyWindow.Call(uintptr(hwnd))
			ready <- fmt.Errorf("drawing the icon: %w", err)
			return
		}
		t.icons[st] = icon
	}
	t.nid = notifyIconData{Wnd: hwnd, ID: iconID, Flags: nifMessage | nifIcon | nifTip | nifShowTip,
		CallbackMessage: wmTrayIcon}
	t.update(t.current())
	t.add()
	ready <- nil

	var m msg
	for {
		r, _, err := procGetMessageW.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0)
		switch int32(r) {
		case 0: // WM_QUIT
			return
		case -1:
			slog.Error("tray: the message loop failed", "err", err)
			return
		}
		procTranslateMessage.Call(uintptr(unsafe.Pointer(&m)))
		procDispatchMessageW.Call(uintptr(unsafe.Pointer(&m)))
	}
}

// add asks the taskbar for the icon; while it refuses, the retry timer
// asks again. An icon that is there already (a second TaskbarCreated, which
// Windows also sends when the display's scaling changes) is only updated.
func (t *Tray) add() {
	if t.shell(nimAdd, &t.nid) || t.shell(nimModify, &t.nid) {
		t.added = true
		// Version 4: clicks arrive as NIN_SELECT and WM_CONTEXTMENU, so
		// the keyboard works too. The version is per icon: set on every add.
		v := t.nid
		v.Version = notifyIconVersion4
		t.version4.Store(t.shell(nimSetVersion, &v))
		procKillTimer.Call(uintptr(t.hwnd), retryTimer)
		t.available.Store(true)
		return
	}
	t.lost()
}

// lost notes that the taskbar does not have the icon, and arms the retry.
func (t *Tray) lost() {
	t.added = false
	t.available.Store(false)
	procSetTimer.Call(uintptr(t.hwnd), retryTimer, uintptr(time.Duration(t.retry.Load()).Milliseconds()), 0)
}

// update puts a summary's icon and text into the icon's data; it reports
// whether anything changed.
func (t *Tray) update(s traySummary) bool {
	text := s.text()
	if text == t.shown.text && s.icon == t.shown.icon {
		return false
	}
	t.nid.Icon = t.icons[s.icon]
	setTip(&t.nid.Tip, text)
	t.shown.text, t.shown.icon = text, s.icon
	return true
}

// wndProc is the tray window's procedure; it runs on the tray thread.
func wndProc(hwnd windows.HWND, m uint32, wParam, lParam uintptr) uintptr {
	v, ok := trays.Load(hwnd)
	if !ok {
		r, _, _ := procDefWindowProcW.Call(uintptr(hwnd), uintptr(m), wParam, lParam)
		return r
	}
	t := v.(*Tray)
	switch m {
	case wmTrayIcon:
		t.iconEvent(uint32(lParam&0xffff), wParam)
		return 0
	case wmRefresh:
		if t.update(t.current()) && t.added && !t.shell(nimModify, &t.nid) {
			t.lost() // explorer went away; TaskbarCreated or the timer brings it back
		}
		return 0
	case wmTimer:
		if wParam == retryTimer {
			t.add()
		}
		return 0
	case wmClose:
		procKillTimer.Call(uintptr(hwnd), retryTimer)
		t.available.Store(false) // a retry may have re-added it since Stop began
		if t.added {
			t.shell(nimDelete, &t.nid)
			t.added = false
		}
		procDestroyWindow.Call(uintptr(hwnd))
		return 0
	case wmDestroy:
		procPostQuitMessage.Call(0)
		return 0
	}
	if m == wmTaskbarCreated() {
		t.add() // explorer (re)started: its new taskbar has no icons
		return 0
	}
	r, _, _ := procDefWindowProcW.Call(uintptr(hwnd), uintptr(m), wParam, lParam)
	return r
}

// iconEvent acts on what the shell reports about the icon. A version-4
// icon names the event in lParam's low word and the anchor point in wParam;
// an older one sends the raw mouse message and no point.
func (t *Tray) iconEvent(event uint32, wParam uintptr) {
	if t.version4.Load() {
		switch event {
		case ninSelect, ninKeySelect:
			do(t.actions.Show)
		case wmContextMenu:
			t.popup(int32(int16(wParam&0xffff)), int32(int16(wParam>>16&0xffff)))
		}
		return
	}
	switch event {
	case wmLButtonUp:
		do(t.actions.Show)
	case wmRButtonUp:
		var p point
		procGetCursorPos.Call(uintptr(unsafe.Pointer(&p)))
		t.popup(p.X, p.Y)
	}
}

// do runs an action on its own goroutine: the tray thread must keep
// pumping, and Quit stops this tray.
func do(f func()) {
	if f != nil {
		go f()
	}
}

// popup shows the context menu at (x, y) and runs the chosen item.
func (t *Tray) popup(x, y int32) {
	entries := menuEntries(t.current(), t.actions)
	menu, err := buildMenu(entries)
	if err != nil {
		slog.Warn("tray: the menu", "err", err)
		return
	}
	defer procDestroyMenu.Call(uintptr(menu))
	// The foreground dance of every tray app (Microsoft's KB135788): the
	// menu closes on a click elsewhere only if its owner is in front, and
	// the WM_NULL afterwards lets a second right click open it again.
	procSetForegroundWindow.Call(uintptr(t.hwnd))
	cmd, _, _ := procTrackPopupMenuEx.Call(uintptr(menu), tpmRightButton|tpmBottomAlign|tpmReturnCmd|tpmNoNotify,
		uintptr(x), uintptr(y), uintptr(t.hwnd), 0)
	postMessage(t.hwnd, wmNull, 0, 0)
	if i := int(cmd) - 1; i >= 0 && i < len(entries) {
		do(entries[i].do)
	}
}

// menuEntry is one item of the context menu: a separator when label is
// empty, disabled when do is nil.
type menuEntry struct {
	label string
	do    func()
}

// menuEntries is the context menu for a summary: the same items as the
// Linux menu, with the recent jobs rebuilt on every opening.
func menuEntries(s traySummary, a desktop.Actions) []menuEntry {
	entries := []menuEntry{{itemShow.label, a.Show}, {itemSuspend.label, a.SuspendAll}, {itemResume.label, a.ResumeAll}, {}}
	for _, j := range s.recent {
		var open func()
		if a.OpenJob != nil {
			id := j.ID
			open = func() { a.OpenJob(id) }
		}
		entries = append(entries, menuEntry{menuLabel(jobLabel(j)), open})
	}
	if len(s.recent) == 0 {
		entries = append(entries, menuEntry{label: noTransfers})
	}
	return append(entries, menuEntry{}, menuEntry{itemQuit.label, a.Quit})
}

// menuLabel escapes "&", which a Win32 menu reads as a mnemonic marker:
// "Q&A backup" would otherwise show as "QA backup" with the A underlined.
func menuLabel(s string) string { return strings.ReplaceAll(s, "&", "&&") }

// buildMenu makes a popup menu of entries; item i has command id i+1, and
// the first item (Show Ferry) is the default, drawn bold.
func buildMenu(entries []menuEntry) (windows.Handle, error) {
	h, _, err := procCreatePopupMenu.Call()
	if h == 0 {
		return 0, lastErr("CreatePopupMenu", err)
	}
	for i, e := range entries {
		flags, label := uintptr(mfSeparator), (*uint16)(nil)
		if e.label != "" {
			flags = mfString
			if e.do == nil {
				flags |= mfGrayed
			}
			if label, err = windows.UTF16PtrFromString(e.label); err != nil {
				procDestroyMenu.Call(h)
				return 0, err
			}
		}
		if r, _, err := procAppendMenuW.Call(h, flags, uintptr(i+1), uintptr(unsafe.Pointer(label))); r == 0 {
			procDestroyMenu.Call(h)
			return 0, lastErr("AppendMenuW", err)
		}
	}
	if len(entries) > 0 && entries[0].do != nil {
		procSetMenuDefaultItem.Call(h, 1, 0)
	}
	return windows.Handle(h), nil
}

var (
	// wmTaskbarCreated is the message explorer broadcasts when its taskbar
	// (re)starts.
	wmTaskbarCreated = sync.OnceValue(func() uint32 {
		name, _ := windows.UTF16PtrFromString("TaskbarCreated")
		r, _, _ := procRegisterWindowMessageW.Call(uintptr(unsafe.Pointer(name)))
		return uint32(r)
	})
	// wndProcPtr: callbacks are never freed, so there is one for all trays.
	wndProcPtr = sync.OnceValue(func() uintptr { return windows.NewCallback(wndProc) })
	// trayClass registers the window class once per process.
	trayClass = sync.OnceValues(func() (*uint16, error) {
		name, _ := windows.UTF16PtrFromString("FerryTrayWindow")
		wc := wndClassEx{WndProc: wndProcPtr(), Instance: moduleHandle(), ClassName: name}
		wc.Size = uint32(unsafe.Sizeof(wc))
		if r, _, err := procRegisterClassExW.Call(uintptr(unsafe.Pointer(&wc))); r == 0 {
			return nil, lastErr("RegisterClassExW", err)
		}
		return name, nil
	})
)

// createWindow makes the tray's window: hidden, and top-level rather than
// message-only, because only top-level windows get TaskbarCreated.
func createWindow() (windows.HWND, error) {
	class, err := trayClass()
	if err != nil {
		return 0, err
	}
	title, _ := windows.UTF16PtrFromString("Ferry")
	hwnd, _, err := procCreateWindowExW.Call(0, uintptr(unsafe.Pointer(class)), uintptr(unsafe.Pointer(title)),
		0, 0, 0, 0, 0, 0, 0, uintptr(moduleHandle()), 0)
	if hwnd == 0 {
		return 0, lastErr("CreateWindowExW", err)
	}
	return windows.HWND(hwnd), nil
}

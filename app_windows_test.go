//go:build windows

package main

import (
	"context"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"ferry/backend/desktop"
)

var (
	user32            = windows.NewLazySystemDLL("user32.dll")
	procFindWindowExW = user32.NewProc("FindWindowExW")
	procPostMessage   = user32.NewProc("PostMessageW")
)

// ownWindow is this process' top-level window of class, or 0: another
// process of the session (a test binary that ran before) may have one too.
func ownWindow(class string) uintptr {
	name, _ := windows.UTF16PtrFromString(class)
	var h uintptr
	for {
		h, _, _ = procFindWindowExW.Call(0, h, uintptr(unsafe.Pointer(name)), 0)
		if h == 0 {
			return 0
		}
		var pid uint32
		windows.GetWindowThreadProcessId(windows.HWND(h), &pid)
		if int(pid) == os.Getpid() {
			return h
		}
	}
}

// The window's shell on Windows, everything but WebView2 (which Wine
// lacks): the real tray in the taskbar's notification area, the toast
// notifier and the single-instance pipe, around a real engine. Closing the
// window hides it into the icon, a click on the icon shows it, a second
// start shows it, and Quit removes the icon.
func TestWindowsShell(t *testing.T) {
	eng, _ := realEngine(t)
	app := NewApp(func() (*Engine, error) { return eng, nil }) // desktopShell: the real tray and notifier
	ui := &fakeUI{}
	app.start(context.Background(), ui)
	app.domReady(context.Background())
	t.Cleanup(app.close)

	waitFor(t, "the icon in the notification area", app.trayAvailable)
	if n := app.Notices(); len(n) != 0 {
		t.Errorf("notices with a tray: %+v", n)
	}
	if !app.beforeClose(context.Background()) {
		t.Fatal("closing the window quit the app although the tray shows its icon")
	}
	if _, hides, _ := ui.counts(); hides != 1 {
		t.Fatalf("hides = %d, want 1", hides)
	}

	// A left click on the icon, as a version-4 icon (NIN_SELECT) and an
	// older one (WM_LBUTTONUP) report it: the tray acts on its own kind.
	tray := ownWindow("FerryTrayWindow")
	if tray == 0 {
		t.Fatal("no tray window")
	}
	const wmTrayIcon, ninSelect, wmLButtonUp = 0x8000 + 1, 0x400, 0x202
	procPostMessage.Call(tray, wmTrayIcon, 0, ninSelect|1<<16)
	procPostMessage.Call(tray, wmTrayIcon, 0, wmLButtonUp)
	waitFor(t, "the click to show the window", func() bool { shows, _, _ := ui.counts(); return shows == 1 })

	// A second start of ferry-desktop finds this one through its pipe.
	dir := t.TempDir()
	release, already, err := desktop.ClaimInstance(dir, app.show)
	if err != nil || already {
		t.Fatalf("first claim: already=%v err=%v", already, err)
	}
	defer release()
	if _, already, err := desktop.ClaimInstance(dir, nil); err != nil || !already {
		t.Fatalf("second start: already=%v err=%v", already, err)
	}
	if shows, _, _ := ui.counts(); shows != 2 {
		t.Errorf("shows = %d after a second start, want 2", shows)
	}

	// Quit from the tray lets the window close, and the icon goes.
	app.quit()
	if app.beforeClose(context.Background()) {
		t.Fatal("Quit was turned into a hide")
	}
	app.close()
	if ownWindow("FerryTrayWindow") != 0 {
		t.Error("the tray window outlived the app")
	}
}

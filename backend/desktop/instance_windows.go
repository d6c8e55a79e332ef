//go:build windows

package desktop

import (
	"log/slog"
	"net"

	"golang.org/x/sys/windows"

	"ferry/backend/internal/localsock"
)

var procAllowSetForegroundWindow = windows.NewLazySystemDLL("user32.dll").NewProc("AllowSetForegroundWindow")

// lendForeground lets the instance at the other end of c bring its window
// to the front. Windows gives the foreground to the process the user just
// started (this one) and refuses SetForegroundWindow to others: without
// this, the first window would only flash in the taskbar.
func lendForeground(c net.Conn) {
	pid, err := localsock.ServerPID(c)
	if err != nil {
		slog.Debug("single instance: the running window's pid", "err", err)
		return
	}
	if r, _, err := procAllowSetForegroundWindow.Call(uintptr(pid)); r == 0 {
		// Refused when this process has no foreground to give (started
		// from a background task): the window then flashes instead.
		slog.Debug("single instance: AllowSetForegroundWindow", "pid", pid, "err", err)
	}
}

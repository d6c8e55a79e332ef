//go:build windows

package tray

import (
	"errors"
	"fmt"
	"image"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The few Win32 calls the notification-area icon needs, by hand:
// golang.org/x/sys/windows has no window, menu or Shell_NotifyIcon calls.

var (
	user32   = windows.NewLazySystemDLL("user32.dll")
	gdi32    = windows.NewLazySystemDLL("gdi32.dll")
	shell32  = windows.NewLazySystemDLL("shell32.dll")
	kernel32 = windows.NewLazySystemDLL("kernel32.dll")

	procAppendMenuW                 = user32.NewProc("AppendMenuW")
	procChangeWindowMessageFilterEx = user32.NewProc("ChangeWindowMessageFilterEx")
	procCreateIconIndirect          = user32.NewProc("CreateIconIndirect")
	procCreatePopupMenu             = user32.NewProc("CreatePopupMenu")
	procCreateWindowExW             = user32.NewProc("CreateWindowExW")
	procDefWindowProcW              = user32.NewProc("DefWindowProcW")
	procDestroyIcon                 = user32.NewProc("DestroyIcon")
	procDestroyMenu                 = user32.NewProc("DestroyMenu")
	procDestroyWindow               = user32.NewProc("DestroyWindow")
	procDispatchMessageW            = user32.NewProc("DispatchMessageW")
	procGetCursorPos                = user32.NewProc("GetCursorPos")
	procGetMessageW                 = user32.NewProc("GetMessageW")
	procGetSystemMetrics            = user32.NewProc("GetSystemMetrics")
	procKillTimer                   = user32.NewProc("KillTimer")
	procPostMessageW                = user32.NewProc("PostMessageW")
	procPostQuitMessage             = user32.NewProc("PostQuitMessage")
	procRegisterClassExW            = user32.NewProc("RegisterClassExW")
	procRegisterWindowMessageW      = user32.NewProc("RegisterWindowMessageW")
	procSetForegroundWindow         = user32.NewProc("SetForegroundWindow")
	procSetMenuDefaultItem          = user32.NewProc("SetMenuDefaultItem")
	procSetTimer                    = user32.NewProc("SetTimer")
	procTrackPopupMenuEx            = user32.NewProc("TrackPopupMenuEx")
	procTranslateMessage            = user32.NewProc("TranslateMessage")

	procCreateBitmap     = gdi32.NewProc("CreateBitmap")
	procCreateDIBSection = gdi32.NewProc("CreateDIBSection")
	procDeleteObject     = gdi32.NewProc("DeleteObject")

	procShellNotifyIconW = shell32.NewProc("Shell_NotifyIconW")

	procGetModuleHandleW = kernel32.NewProc("GetModuleHandleW")
)

const (
	wmNull        = 0x0000
	wmDestroy     = 0x0002
	wmClose       = 0x0010
	wmContextMenu = 0x007B
	wmTimer       = 0x0113
	wmLButtonUp   = 0x0202
	wmRButtonUp   = 0x0205
	wmUser        = 0x0400
	wmApp         = 0x8000

	// What a version-4 icon sends for a left click or Enter on it.
	ninSelect    = wmUser
	ninKeySelect = wmUser | 1

	nimAdd        = 0
	nimModify     = 1
	nimDelete     = 2
	nimSetVersion = 4

	notifyIconVersion4 = 4

	nifMessage  = 0x01
	nifIcon     = 0x02
	nifTip      = 0x04
	nifShowTip  = 0x80 // the standard tooltip, which version 4 otherwise leaves out
	mfString    = 0x0000
	mfGrayed    = 0x0001
	mfSeparator = 0x0800

	tpmRightButton = 0x0002
	tpmBottomAlign = 0x0020
	tpmNoNotify    = 0x0080
	tpmReturnCmd   = 0x0100

	msgfltAllow  = 1
	smCxSmIcon   = 49
	smCySmIcon   = 50
	biRGB        = 0
	dibRGBColors = 0
)

// notifyIconData is NOTIFYICONDATAW as of Windows Vista (976 bytes on
// 64-bit Windows).
type notifyIconData struct {
	Size            uint32
	Wnd             windows.HWND
	ID              uint32
	Flags           uint32
	CallbackMessage uint32
	Icon            windows.Handle
	Tip             [128]uint16
	State           uint32
	StateMask       uint32
	Info            [256]uint16
	Version         uint32 // a union with uTimeout
	InfoTitle       [64]uint16
	InfoFlags       uint32
	GUIDItem        windows.GUID
	BalloonIcon     windows.Handle
}

// shellNotifyIcon is Shell_NotifyIconW, which asks the taskbar (explorer)
// to add, change or remove an icon; it fails while there is no taskbar.
func shellNotifyIcon(msg uint32, nid *notifyIconData) bool {
	nid.Size = uint32(unsafe.Sizeof(*nid))
	r, _, _ := procShellNotifyIconW.Call(uintptr(msg), uintptr(unsafe.Pointer(nid)))
	return r != 0
}

// setTip stores s as the icon's tooltip, cut at a character boundary to
// what szTip holds (127 UTF-16 units and the NUL).
func setTip(dst *[128]uint16, s string) {
	u := windows.StringToUTF16(s) // NUL-terminated; a NUL inside s ends it
	if len(u) > len(dst) {
		n := len(dst) - 1
		if u[n-1] >= 0xD800 && u[n-1] < 0xDC00 { // do not split a surrogate pair
			n--
		}
		u = append(u[:n:n], 0)
	}
	*dst = [128]uint16{}
	copy(dst[:], u)
}

type wndClassEx struct {
	Size       uint32
	Style      uint32
	WndProc    uintptr
	ClsExtra   int32
	WndExtra   int32
	Instance   windows.Handle
	Icon       windows.Handle
	Cursor     windows.Handle
	Background windows.Handle
	MenuName   *uint16
	ClassName  *uint16
	IconSm     windows.Handle
}

type msg struct {
	Wnd     windows.HWND
	Message uint32
	WParam  uintptr
	LParam  uintptr
	Time    uint32
	Pt      point
	private uint32
}

type point struct{ X, Y int32 }

type bitmapInfoHeader struct {
	Size          uint32
	Width         int32
	Height        int32
	Planes        uint16
	BitCount      uint16
	Compression   uint32
	SizeImage     uint32
	XPelsPerMeter int32
	YPelsPerMeter int32
	ClrUsed       uint32
	ClrImportant  uint32
}

type iconInfo struct {
	Icon     int32 // TRUE: an icon, not a cursor
	XHotspot uint32
	YHotspot uint32
	Mask     windows.Handle
	Color    windows.Handle
}

// lastErr is a failed call's error, or a plain one where the call did not
// set the thread's last error.
func lastErr(call string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) && errno != 0 {
		return fmt.Errorf("%s: %w", call, err)
	}
	return fmt.Errorf("%s failed", call)
}

func moduleHandle() windows.Handle {
	h, _, _ := procGetModuleHandleW.Call(0)
	return windows.Handle(h)
}

func postMessage(hwnd windows.HWND, m uint32, wParam, lParam uintptr) bool {
	r, _, _ := procPostMessageW.Call(uintptr(hwnd), uintptr(m), wParam, lParam)
	return r != 0
}

func smallIconSize() (int, int) {
	cx, _, _ := procGetSystemMetrics.Call(smCxSmIcon)
	cy, _, _ := procGetSystemMetrics.Call(smCySmIcon)
	if cx == 0 || cy == 0 {
		return 16, 16
	}
	return int(cx), int(cy)
}

// createIcon makes an HICON of img: a 32-bit colour bitmap with its alpha
// channel (straight, as in .ico files), and an empty mask, which Windows
// ignores for icons with alpha.
func createIcon(img *image.NRGBA) (windows.Handle, error) {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	bi := bitmapInfoHeader{Width: int32(w), Height: -int32(h), Planes: 1, BitCount: 32, Compression: biRGB} // top-down rows
	bi.Size = uint32(unsafe.Sizeof(bi))
	var bits unsafe.Pointer
	color, _, err := procCreateDIBSection.Call(0, uintptr(unsafe.Pointer(&bi)), dibRGBColors, uintptr(unsafe.Pointer(&bits)), 0, 0)
	if color == 0 || bits == nil {
		return 0, lastErr("CreateDIBSection", err)
	}
	defer procDeleteObject.Call(color)
	px := unsafe.Slice((*byte)(bits), w*h*4)
	for y := range h {
		for x := range w {
			c := img.NRGBAAt(img.Bounds().Min.X+x, img.Bounds().Min.Y+y)
			i := (y*w + x) * 4
			px[i], px[i+1], px[i+2], px[i+3] = c.B, c.G, c.R, c.A
		}
	}
	maskBits := make([]byte, (w+15)/16*2*h) // rows of whole 16-bit words
	mask, _, err := procCreateBitmap.Call(uintptr(w), uintptr(h), 1, 1, uintptr(unsafe.Pointer(&maskBits[0])))
	if mask == 0 {
		return 0, lastErr("CreateBitmap", err)
	}
	defer procDeleteObject.Call(mask)
	ii := iconInfo{Icon: 1, Mask: windows.Handle(mask), Color: windows.Handle(color)}
	icon, _, err := procCreateIconIndirect.Call(uintptr(unsafe.Pointer(&ii)))
	if icon == 0 {
		return 0, lastErr("CreateIconIndirect", err)
	}
	return windows.Handle(icon), nil
}

func destroyIcon(h windows.Handle) { procDestroyIcon.Call(uintptr(h)) }

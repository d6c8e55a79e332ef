package main

import (
	"os/exec"
	"strings"
	"testing"
)

// ferry must start fast and run without a desktop: no GUI library, and no
// package that touches the process at init (fyne.io/systray locks the main
// goroutine to its thread). The window's packages belong to ferry-desktop.
func TestLinksNoGUI(t *testing.T) {
	forbidden := []string{"github.com/wailsapp/", "fyne.io/systray", "github.com/leaanthony/", "ferry/backend/desktop/tray"}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "GOARCH=amd64")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps for %s: %v", goos, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("ferry for %s links %s", goos, dep)
				}
			}
		}
	}
}

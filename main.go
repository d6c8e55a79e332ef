// Command ferry-desktop is Ferry's desktop app: the window, the tray icon
// and notifications, with the engine of its FERRY_HOME inside. The command
// line and the headless engine are the other executable, ferry
// (cmd/ferry), which links no GUI library.
package main

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"ferry/backend/desktop"
	"ferry/backend/home"
	"ferry/frontend"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
)

//go:embed build/appicon.png
var icon []byte

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintf(os.Stderr, "ferry-desktop: it takes no arguments; commands are run by ferry (ferry help)\n")
		os.Exit(2)
	}
	if err := runDesktop(); err != nil {
		fmt.Fprintln(os.Stderr, "ferry-desktop:", err)
		os.Exit(1)
	}
}

func runDesktop() error {
	app := NewApp(openDesktopEngine)
	// One window per FERRY_HOME: a second `ferry` shows the first one's
	// window and exits 0. Not in the bindings run of `wails build`, which
	// must not touch FERRY_HOME (claimInstance is false there).
	if claimInstance {
		release, already, err := claim(app)
		switch {
		case err != nil:
			// Unsupported here, or FERRY_HOME unusable (the engine will
			// report that in the window): go on as the only instance.
			fmt.Fprintln(os.Stderr, "ferry-desktop: warning:", err)
		case already:
			fmt.Fprintln(os.Stderr, "ferry-desktop: Ferry is already open; its window was brought up")
			return nil
		case release != nil:
			app.release = release
			defer release()
		}
	}
	// Wails turns SIGINT and SIGTERM into a quit that asks OnBeforeClose,
	// which would hide the window into the tray: a signal (Ctrl-C, logout,
	// kill) must end the app and stop its engine cleanly.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		app.quit()
	}()
	if claimInstance { // not in the bindings run, which shows no window
		webKitContext()
	}
	return wails.Run(&options.App{
		Title:          "Ferry",
		Width:          1100,
		Height:         700,
		MinWidth:       640,
		MinHeight:      400,
		AssetServer:    &assetserver.Options{Assets: frontend.Dist()},
		OnStartup:      app.startup,
		OnDomReady:     app.domReady,
		OnBeforeClose:  app.beforeClose,
		OnShutdown:     app.shutdown,
		Bind:           []any{app},
		ErrorFormatter: formatError,
		// Files dropped on the window arrive with their paths (the new-job
		// dialog takes them as upload sources or download targets).
		DragAndDrop: &options.DragAndDrop{EnableFileDrop: true},
		Linux: &linux.Options{
			Icon:        icon,
			ProgramName: "ferry",
			// Wails' own default when Linux options are nil (wails#2977):
			// GPU compositing leaves the window blank on many drivers.
			WebviewGpuPolicy: linux.WebviewGpuPolicyNever,
		},
	})
}

// claim takes the single-instance claim for FERRY_HOME, or shows the window
// of the instance that has it.
func claim(app *App) (release func(), already bool, err error) {
	h, err := home.Resolve()
	if err != nil {
		return nil, false, err
	}
	release, already, err = desktop.ClaimInstance(h.Dir, app.show)
	if errors.Is(err, desktop.ErrUnsupported) {
		return nil, false, nil
	}
	return release, already, err
}

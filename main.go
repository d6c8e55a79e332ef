// Command ferry runs BITS-style background transfers: with no arguments it
// opens the desktop window, otherwise it runs one command of the CLI.
package main

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"ferry/backend/cli"
	"ferry/backend/desktop"
	"ferry/backend/home"
	"ferry/backend/web"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
)

// The frontend is built into frontend/dist by `make build`; a committed
// .gitkeep keeps this embed (and so go vet and go test) valid before that.
//
//go:embed all:frontend/dist
var assets embed.FS

//go:embed build/appicon.png
var icon []byte

func main() {
	if len(os.Args) > 1 {
		// `ferry web` serves the very files the window shows.
		if dist, err := fs.Sub(assets, "frontend/dist"); err == nil {
			web.Assets = dist
		}
		os.Exit(cli.Main(os.Args[1:]))
	}
	if err := runDesktop(); err != nil {
		fmt.Fprintln(os.Stderr, "ferry:", err)
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
			fmt.Fprintln(os.Stderr, "ferry: warning:", err)
		case already:
			fmt.Fprintln(os.Stderr, "ferry: Ferry is already open; its window was brought up")
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
	return wails.Run(&options.App{
		Title:          "Ferry",
		Width:          1100,
		Height:         700,
		MinWidth:       640,
		MinHeight:      400,
		AssetServer:    &assetserver.Options{Assets: assets},
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

// Command ferry runs BITS-style background transfers: with no arguments it
// opens the desktop window, otherwise it runs one command of the CLI.
package main

import (
	"embed"
	"fmt"
	"os"

	"ferry/backend/bits"
	"ferry/backend/cli"

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

// newDesktopSource opens the engine behind the window and returns it with a
// func that stops it (nil if there is nothing to stop); its error is shown in
// the window. It is called from Wails' OnStartup, never before
// wails.Run: `wails build` runs this binary to generate the JS bindings, and
// that run must not take the lock, open the database or touch the display.
var newDesktopSource = func() (JobSource, func(), error) {
	return emptySource{}, nil, nil
}

func main() {
	if len(os.Args) > 1 {
		os.Exit(cli.Main(os.Args[1:]))
	}
	if err := runDesktop(); err != nil {
		fmt.Fprintln(os.Stderr, "ferry:", err)
		os.Exit(1)
	}
}

func runDesktop() error {
	app := NewApp(newDesktopSource)
	return wails.Run(&options.App{
		Title:       "Ferry",
		Width:       960,
		Height:      600,
		MinWidth:    560,
		MinHeight:   320,
		AssetServer: &assetserver.Options{Assets: assets},
		OnStartup:   app.startup,
		OnShutdown:  app.shutdown,
		Bind:        []any{app},
		Linux: &linux.Options{
			Icon:        icon,
			ProgramName: "ferry",
			// Wails' own default when Linux options are nil (wails#2977):
			// GPU compositing leaves the window blank on many drivers.
			WebviewGpuPolicy: linux.WebviewGpuPolicyNever,
		},
	})
}

// emptySource stands in for the engine until it is wired in: no jobs, no changes.
type emptySource struct{}

func (emptySource) Jobs() []bits.JobInfo { return nil }

func (emptySource) Changes() (<-chan bits.JobInfo, func()) {
	return make(chan bits.JobInfo), func() {}
}

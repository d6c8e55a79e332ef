// Command ferry is Ferry's command line and its headless engine (`ferry
// service`, `ferry web`, `ferry serve-uploads`). It links no GUI library, so
// it starts in milliseconds and runs on servers and in containers; with no
// arguments it starts the desktop app, ferry-desktop.
package main

import (
	"fmt"
	"os"

	"ferry/backend/cli"
	"ferry/backend/web"
	"ferry/frontend"
)

func main() {
	if len(os.Args) < 2 {
		if err := openDesktop(); err != nil {
			fmt.Fprintln(os.Stderr, "ferry:", err)
			os.Exit(1)
		}
		return
	}
	// `ferry web` serves the very files the window shows.
	web.Assets = frontend.Dist()
	cli.OpenWindow = spawnDesktop
	os.Exit(cli.Main(os.Args[1:]))
}

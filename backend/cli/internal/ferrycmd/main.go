// Command ferrycmd is the CLI without the desktop window: the end-to-end
// tests fall back to it when the root package (which embeds the built
// frontend and links Wails) cannot be built.
package main

import (
	"os"

	"ferry/backend/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }

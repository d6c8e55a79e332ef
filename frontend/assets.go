// Package frontend embeds the built user interface (frontend/dist), so that
// both executables carry the same files: ferry-desktop shows them in its
// window and `ferry web` serves them to a browser.
package frontend

import (
	"embed"
	"io/fs"
)

// `make build` fills dist; a committed .gitkeep keeps this embed (and so
// go vet and go test) valid before the first frontend build.
//
//go:embed all:dist
var dist embed.FS

// Dist is the contents of frontend/dist, rooted at index.html's directory.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "dist" is valid.
		panic(err)
	}
	return sub
}

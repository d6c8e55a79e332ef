package browser

import (
	"path/filepath"
	"strings"

	"ferry/backend/bits"
	"ferry/backend/browser/manifests"
)

// Caller checks the arguments a browser starts the host with: Chromium
// passes the calling extension's origin (and, on Windows,
// --parent-window=N); Firefox passes the manifest's path, then the
// extension's id. Only Ferry's own extension is served: a browser checks
// allowed_origins too, but a host reachable from another extension would
// let it start downloads with the user's cookies.
func Caller(args []string) (manifests.Family, error) {
	for i, a := range args {
		switch {
		case a == manifests.ChromiumOrigin:
			return manifests.FamilyChromium, nil
		case a == manifests.FirefoxID && i > 0 && strings.EqualFold(filepath.Ext(args[i-1]), ".json"):
			return manifests.FamilyFirefox, nil
		}
	}
	return "", bits.Errorf(bits.E_ACCESSDENIED, "this host serves Ferry's extension only (%s or %s), not the caller %q", manifests.ChromiumOrigin, manifests.FirefoxID, strings.Join(args, " "))
}

// LooksLikeBrowserLaunch reports whether a command line is a browser
// starting the host: the manifests name the ferry executable itself, and a
// browser adds its own arguments (no subcommand).
func LooksLikeBrowserLaunch(args []string) bool {
	if len(args) == 0 {
		return false
	}
	if strings.HasPrefix(args[0], "chrome-extension://") {
		return true
	}
	return len(args) >= 2 && strings.EqualFold(filepath.Ext(args[0]), ".json") && filepath.IsAbs(args[0])
}

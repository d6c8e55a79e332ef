package browser

import (
	"path/filepath"
	"strings"

	"ferry/backend/bits"
)

// HostName is the native messaging host's name, as the extension calls it
// and as the manifests are named (HostName + ".json").
const HostName = "org.ferry.host"

// ChromiumID is the extension's id in Chromium, Chrome and Edge: fixed by
// the public key in extension/manifest.json ("key"), so that the manifests
// can name it before the extension is published.
const ChromiumID = "fhhpiihgikmffhkddmangfemijhpfmbk"

// FirefoxID is the extension's id in Firefox (browser_specific_settings.gecko.id).
const FirefoxID = "browser@ferry.invalid"

// ChromiumOrigin is how Chromium names the extension to the host (argv[1]).
const ChromiumOrigin = "chrome-extension://" + ChromiumID + "/"

// Family is the kind of browser on the other end of the pipe: Chrome,
// Chromium and Edge call a host alike and cannot be told apart.
type Family string

const (
	FamilyChromium Family = "chromium"
	FamilyFirefox  Family = "firefox"
)

// Caller checks the arguments a browser starts the host with: Chromium
// passes the calling extension's origin (and, on Windows,
// --parent-window=N); Firefox passes the manifest's path, then the
// extension's id. Only Ferry's own extension is served: a browser checks
// allowed_origins too, but a host reachable from another extension would
// let it start downloads with the user's cookies.
func Caller(args []string) (Family, error) {
	for i, a := range args {
		switch {
		case a == ChromiumOrigin:
			return FamilyChromium, nil
		case a == FirefoxID && i > 0 && strings.EqualFold(filepath.Ext(args[i-1]), ".json"):
			return FamilyFirefox, nil
		}
	}
	return "", bits.Errorf(bits.E_ACCESSDENIED, "this host serves Ferry's extension only (%s or %s), not the caller %q", ChromiumOrigin, FirefoxID, strings.Join(args, " "))
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

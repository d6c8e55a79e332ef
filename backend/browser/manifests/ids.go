// Package manifests names Ferry's native messaging host and the extension
// it serves, and writes the host manifests each browser reads (ferry
// browser install|uninstall|status; the engine reads their status for the
// window's settings page).
package manifests

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

package manifests

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ferry/backend/bits"
)

// Browser is one browser whose host manifest `ferry browser` manages.
type Browser string

const (
	Chrome   Browser = "chrome"
	Chromium Browser = "chromium"
	Edge     Browser = "edge"
	Firefox  Browser = "firefox"
)

// Browsers is every browser, in the order status lists them.
var Browsers = []Browser{Chrome, Chromium, Edge, Firefox}

// Family is the kind of extension host the browser is.
func (b Browser) Family() Family {
	if b == Firefox {
		return FamilyFirefox
	}
	return FamilyChromium
}

// ParseBrowsers reads --browser: one name or "all" (the default when empty).
func ParseBrowsers(s string) ([]Browser, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "all" {
		return Browsers, nil
	}
	for _, b := range Browsers {
		if string(b) == s {
			return []Browser{b}, nil
		}
	}
	return nil, bits.Errorf(bits.E_INVALIDARG, "--browser %q is not chrome, chromium, edge, firefox or all", s)
}

// Manifest is a native messaging host manifest; Chromium reads
// allowed_origins, Firefox allowed_extensions.
type Manifest struct {
	Name              string   `json:"name"`
	Description       string   `json:"description"`
	Path              string   `json:"path"`
	Type              string   `json:"type"`
	AllowedOrigins    []string `json:"allowed_origins,omitempty"`
	AllowedExtensions []string `json:"allowed_extensions,omitempty"`
}

// ManifestFor is the manifest of browser b for the host executable exe.
func ManifestFor(b Browser, exe string) Manifest {
	m := Manifest{Name: HostName, Description: "Ferry: downloads handed over by the browser", Path: exe, Type: "stdio"}
	if b == Firefox {
		m.AllowedExtensions = []string{FirefoxID}
	} else {
		m.AllowedOrigins = []string{ChromiumOrigin}
	}
	return m
}

// Status is one browser's registration as `ferry browser status` shows it.
type Status struct {
	Browser Browser `json:"browser"`
	// Manifest is where the browser looks for the host manifest.
	Manifest string `json:"manifest"`
	// Installed: the manifest is there (and registered, on Windows) and
	// names the executable in Host.
	Installed bool   `json:"installed"`
	Host      string `json:"host"`
	// LastContact is the last time the host answered an extension of this
	// browser's family (Chrome, Chromium and Edge share theirs), or null.
	LastContact *time.Time `json:"lastContact"`
	Connected   bool       `json:"connected"`
}

// Installer writes and reads the manifests of one user.
type Installer struct {
	// Exe is the host executable the manifests name (ferry itself).
	Exe string
	// Home is FERRY_HOME, where the host records its last contact.
	Home string
}

// Install writes b's manifest (and registers it, on Windows).
func (in Installer) Install(b Browser) (Status, error) {
	path, err := manifestPath(b)
	if err != nil {
		return Status{}, err
	}
	body, err := json.MarshalIndent(ManifestFor(b, in.Exe), "", "  ")
	if err != nil {
		return Status{}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return Status{}, bits.Errorf(bits.E_ACCESSDENIED, "cannot create %s: %v", filepath.Dir(path), err)
	}
	if err := writeFileAtomic(path, append(body, '\n')); err != nil {
		return Status{}, bits.Errorf(bits.E_ACCESSDENIED, "cannot write %s: %v", path, err)
	}
	if err := register(b, path); err != nil {
		return Status{}, err
	}
	return in.Status(b)
}

// Uninstall removes b's manifest and registration; an absent one is fine.
func (in Installer) Uninstall(b Browser) (Status, error) {
	path, err := manifestPath(b)
	if err != nil {
		return Status{}, err
	}
	if err := unregister(b); err != nil {
		return Status{}, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Status{}, bits.Errorf(bits.E_ACCESSDENIED, "cannot remove %s: %v", path, err)
	}
	return in.Status(b)
}

// Status reads b's registration and the host's last contact.
func (in Installer) Status(b Browser) (Status, error) {
	path, err := manifestPath(b)
	if err != nil {
		return Status{}, err
	}
	st := Status{Browser: b, Manifest: path}
	if body, err := os.ReadFile(path); err == nil {
		var m Manifest
		if json.Unmarshal(body, &m) == nil && m.Name == HostName && registered(b, path) {
			st.Installed, st.Host = true, m.Path
		}
	}
	if t, ok := LastContact(in.Home, b.Family()); ok {
		st.LastContact = &t
	}
	st.Connected = st.Installed && st.LastContact != nil
	return st, nil
}

func writeFileAtomic(path string, body []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ferry-manifest-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// contactFile is where the host records when it last served a family.
func contactFile(home string, f Family) string {
	return filepath.Join(home, "browser-"+string(f)+".contact")
}

// RecordContact notes that an extension of family f reached the host now.
func RecordContact(home string, f Family, now time.Time) error {
	if err := os.WriteFile(contactFile(home, f), []byte(now.UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return fmt.Errorf("record the browser's contact: %w", err)
	}
	return nil
}

// LastContact reads what RecordContact wrote.
func LastContact(home string, f Family) (time.Time, bool) {
	b, err := os.ReadFile(contactFile(home, f))
	if err != nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
	return t, err == nil
}

// StatusAll is every browser's status, for the window's settings page.
func StatusAll(home string) ([]Status, error) {
	in := Installer{Home: home}
	out := make([]Status, 0, len(Browsers))
	for _, b := range Browsers {
		st, err := in.Status(b)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

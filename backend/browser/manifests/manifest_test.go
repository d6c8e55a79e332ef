package manifests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestInstallStatusUninstall writes every browser's manifest in a scratch
// home (and, on Windows, a scratch registry key), reads it back, and removes it.
func TestInstallStatusUninstall(t *testing.T) {
	root := t.TempDir()
	t.Setenv("HOME", root)
	t.Setenv("USERPROFILE", root)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(root, "cfg"))
	t.Setenv("LOCALAPPDATA", filepath.Join(root, "local"))
	scratchRegistry(t)
	home := t.TempDir()
	exe := filepath.Join(root, "bin", "ferry")
	in := Installer{Exe: exe, Home: home}
	for _, b := range Browsers {
		st, err := in.Status(b)
		if err != nil || st.Installed || st.Connected {
			t.Fatalf("%s before install: %+v %v", b, st, err)
		}
		st, err = in.Install(b)
		if err != nil || !st.Installed || st.Host != exe || st.Connected {
			t.Fatalf("%s installed: %+v %v", b, st, err)
		}
		rel, err := filepath.Rel(root, st.Manifest)
		if err != nil || !filepath.IsLocal(rel) {
			t.Fatalf("%s's manifest %s is outside the scratch home", b, st.Manifest)
		}
		var m Manifest
		body, err := os.ReadFile(st.Manifest)
		if err != nil || json.Unmarshal(body, &m) != nil {
			t.Fatalf("%s: %v", st.Manifest, err)
		}
		want := ManifestFor(b, exe)
		if m.Name != HostName || m.Path != exe || m.Type != "stdio" || len(m.AllowedOrigins) != len(want.AllowedOrigins) || len(m.AllowedExtensions) != len(want.AllowedExtensions) {
			t.Fatalf("%s's manifest %+v", b, m)
		}
	}
	// A contact makes the family connected.
	if err := RecordContact(home, FamilyFirefox, time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	all, err := StatusAll(home)
	if err != nil || len(all) != len(Browsers) {
		t.Fatalf("%v %v", all, err)
	}
	for _, st := range all {
		if st.Connected != (st.Browser == Firefox) {
			t.Errorf("%s connected=%v", st.Browser, st.Connected)
		}
	}
	for _, b := range Browsers {
		st, err := in.Uninstall(b)
		if err != nil || st.Installed {
			t.Fatalf("%s uninstalled: %+v %v", b, st, err)
		}
		if _, err := os.Stat(st.Manifest); !os.IsNotExist(err) {
			t.Fatalf("%s's manifest is still there: %v", b, err)
		}
		if _, err := in.Uninstall(b); err != nil {
			t.Fatalf("%s uninstalled twice: %v", b, err)
		}
	}
}

func TestParseBrowsers(t *testing.T) {
	if bs, err := ParseBrowsers(""); err != nil || len(bs) != 4 {
		t.Fatal(bs, err)
	}
	if bs, err := ParseBrowsers(" Firefox "); err != nil || len(bs) != 1 || bs[0] != Firefox {
		t.Fatal(bs, err)
	}
	if _, err := ParseBrowsers("opera"); err == nil {
		t.Fatal("opera accepted")
	}
}

package manifests

import (
	"errors"
	"strings"

	"golang.org/x/sys/windows/registry"

	"ferry/backend/bits"
)

// registryBase is where the browsers' keys live under HKCU (a test moves it
// aside, so that it never registers anything for the user who runs it).
var registryBase = `Software\`

// registryKey is the per-user key under which b looks for a host's manifest.
func registryKey(b Browser) string {
	vendor := map[Browser]string{Chrome: `Google\Chrome`, Chromium: `Chromium`, Edge: `Microsoft\Edge`, Firefox: `Mozilla`}[b]
	return registryBase + vendor + `\NativeMessagingHosts\` + HostName
}

func register(b Browser, manifest string) error {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, registryKey(b), registry.SET_VALUE)
	if err != nil {
		return bits.Errorf(bits.E_ACCESSDENIED, `cannot create HKCU\%s: %v`, registryKey(b), err)
	}
	defer k.Close()
	if err := k.SetStringValue("", manifest); err != nil {
		return bits.Errorf(bits.E_ACCESSDENIED, `cannot write HKCU\%s: %v`, registryKey(b), err)
	}
	return nil
}

func unregister(b Browser) error {
	err := registry.DeleteKey(registry.CURRENT_USER, registryKey(b))
	if err != nil && !errors.Is(err, registry.ErrNotExist) {
		return bits.Errorf(bits.E_ACCESSDENIED, `cannot remove HKCU\%s: %v`, registryKey(b), err)
	}
	return nil
}

func registered(b Browser, manifest string) bool {
	k, err := registry.OpenKey(registry.CURRENT_USER, registryKey(b), registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	defer k.Close()
	v, _, err := k.GetStringValue("")
	return err == nil && strings.EqualFold(v, manifest)
}

//go:build !linux && !darwin && !windows

package manifests

import (
	"os"
	"path/filepath"

	"ferry/backend/bits"
)

// manifestPath follows the Linux layout on the other Unixes (the BSDs'
// Chromium and Firefox ports read the same places).
func manifestPath(b Browser) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", bits.Errorf(bits.E_FAIL, "no home directory: %v", err)
	}
	if b == Firefox {
		return filepath.Join(home, ".mozilla", "native-messaging-hosts", HostName+".json"), nil
	}
	cfg, err := os.UserConfigDir()
	if err != nil {
		return "", bits.Errorf(bits.E_FAIL, "no configuration directory: %v", err)
	}
	dir := map[Browser]string{Chrome: "google-chrome", Chromium: "chromium", Edge: "microsoft-edge"}[b]
	return filepath.Join(cfg, dir, "NativeMessagingHosts", HostName+".json"), nil
}

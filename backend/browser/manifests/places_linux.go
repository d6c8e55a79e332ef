package manifests

import (
	"os"
	"path/filepath"

	"ferry/backend/bits"
)

// manifestPath is where b reads a user's host manifest on Linux: the
// Chromium family under XDG_CONFIG_HOME (~/.config), Firefox under ~/.mozilla.
func manifestPath(b Browser) (string, error) {
	if b == Firefox {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", bits.Errorf(bits.E_FAIL, "no home directory: %v", err)
		}
		return filepath.Join(home, ".mozilla", "native-messaging-hosts", HostName+".json"), nil
	}
	cfg, err := os.UserConfigDir()
	if err != nil {
		return "", bits.Errorf(bits.E_FAIL, "no configuration directory: %v", err)
	}
	dir := map[Browser]string{Chrome: "google-chrome", Chromium: "chromium", Edge: "microsoft-edge"}[b]
	return filepath.Join(cfg, dir, "NativeMessagingHosts", HostName+".json"), nil
}

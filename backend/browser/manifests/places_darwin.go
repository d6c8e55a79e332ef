package manifests

import (
	"os"
	"path/filepath"

	"ferry/backend/bits"
)

// manifestPath is where b reads a user's host manifest on macOS.
func manifestPath(b Browser) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", bits.Errorf(bits.E_FAIL, "no home directory: %v", err)
	}
	dir := map[Browser]string{Chrome: "Google/Chrome", Chromium: "Chromium", Edge: "Microsoft Edge", Firefox: "Mozilla"}[b]
	return filepath.Join(home, "Library", "Application Support", filepath.FromSlash(dir), "NativeMessagingHosts", HostName+".json"), nil
}

package manifests

import (
	"os"
	"path/filepath"

	"ferry/backend/bits"
)

// manifestPath is where Ferry keeps b's manifest on Windows; the browser
// finds it through the registry (register).
func manifestPath(b Browser) (string, error) {
	dir, err := os.UserCacheDir() // %LOCALAPPDATA%
	if err != nil {
		return "", bits.Errorf(bits.E_FAIL, "no local application data directory: %v", err)
	}
	return filepath.Join(dir, "Ferry", "NativeMessagingHosts", string(b), HostName+".json"), nil
}

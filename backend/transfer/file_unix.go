//go:build unix

package transfer

import (
	"fmt"
	"strings"
)

// fileURLPath is the local path of a file URL's host and path. Only the
// local host is a file system here.
func fileURLPath(host, path string) (string, error) {
	if host != "" && !strings.EqualFold(host, "localhost") {
		return "", fmt.Errorf("remote file host %q is not supported", host)
	}
	return path, nil
}

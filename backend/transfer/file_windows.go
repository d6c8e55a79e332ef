//go:build windows

package transfer

import (
	"path/filepath"
	"strings"
)

// fileURLPath is the Windows path of a file URL's host and path:
//
//	file:///C:/dir/f, file://localhost/C:/dir/f -> C:\dir\f
//	file://C:/dir/f (a common misspelling)        -> C:\dir\f
//	file://server/share/f                        -> \\server\share\f (SMB)
func fileURLPath(host, path string) (string, error) {
	switch {
	case isDrive(host):
		return filepath.FromSlash(host + path), nil
	case host != "" && !strings.EqualFold(host, "localhost"):
		return `\\` + host + filepath.FromSlash(path), nil
	}
	if len(path) >= 3 && path[0] == '/' && isDrive(path[1:3]) {
		path = path[1:]
	}
	return filepath.FromSlash(path), nil
}

// isDrive reports "C:" and its kind.
func isDrive(s string) bool {
	return len(s) == 2 && s[1] == ':' && ('a' <= s[0]|0x20 && s[0]|0x20 <= 'z')
}

// Package localsock is Ferry's private local endpoint, which the control API
// and the desktop app's single-instance handshake both listen on: a unix
// socket (mode 0600, the caller's uid read from the kernel) or, on Windows,
// a named pipe (a DACL for the current user alone, the caller's token SID
// compared with ours). One implementation, so that both are guarded alike.
package localsock

import (
	"crypto/sha256"
	"encoding/hex"
)

// hashed names an endpoint that cannot live at its path: kind plus a hash
// of the path, so that two FERRY_HOMEs never share one.
func hashed(kind, key string) string {
	sum := sha256.Sum256([]byte(key))
	return kind + "-" + hex.EncodeToString(sum[:16])
}

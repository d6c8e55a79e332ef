//go:build !unix

package desktop

import "fmt"

// ClaimInstance returns ErrUnsupported on this platform (Windows needs a
// named pipe or a named mutex, not written yet); the caller starts a window
// as if it were the only one.
func ClaimInstance(home string, onShow func()) (release func(), already bool, err error) {
	return nil, false, fmt.Errorf("single instance: %w", ErrUnsupported)
}

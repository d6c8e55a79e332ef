//go:build !linux

package netwatch

// New reports ErrUnsupported: only Linux (rtnetlink) is watched so far.
func New() (Watcher, error) { return nil, ErrUnsupported }

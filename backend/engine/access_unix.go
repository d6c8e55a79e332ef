//go:build unix

package engine

import "golang.org/x/sys/unix"

// canRead and canWrite ask the kernel with the engine's own credentials, so
// AddFile refuses early what the transfer would fail on later.
func canRead(path string) error  { return unix.Access(path, unix.R_OK) }
func canWrite(path string) error { return unix.Access(path, unix.W_OK) }

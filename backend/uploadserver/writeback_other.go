//go:build !linux

package uploadserver

import "os"

// startWriteback: no portable way to start writeback early; the fsync
// before the Ack does all of it.
func startWriteback(*os.File, int64, int64) {}

// syncData makes f's data durable (F_FULLFSYNC on macOS, where Go's Sync
// uses it).
func syncData(f *os.File) error { return f.Sync() }

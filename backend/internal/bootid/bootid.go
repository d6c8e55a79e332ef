// Package bootid names the running boot of the machine, so that a process
// can tell a crash of its own (the kernel kept every write that returned,
// in its page cache) from a reboot or power cut (only what was fsynced is
// there). Two calls in one boot give the same string; another boot gives
// another. "" means the platform cannot tell: nothing may then be trusted
// beyond what was made durable.
package bootid

import "sync"

var (
	once sync.Once
	id   string
)

// ID is this boot's identity, read once per process.
func ID() string {
	once.Do(func() { id = read() })
	return id
}

//go:build unix

package engine

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// canRead and canWrite ask the kernel with the engine's own credentials, so
// AddFile refuses early what the transfer would fail on later.
func canRead(path string) error  { return unix.Access(path, unix.R_OK) }
func canWrite(path string) error { return unix.Access(path, unix.W_OK) }

// keepOwner gives a replacing file the owner of the file it replaces, when
// the engine may (it runs as root); otherwise the engine's user owns it.
func keepOwner(f *os.File, old fs.FileInfo) {
	if st, ok := old.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		_ = f.Chown(int(st.Uid), int(st.Gid))
	}
}

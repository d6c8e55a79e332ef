//go:build windows

package uploadserver

import "os"

// syncDir does nothing on Windows: a directory opened read-only cannot be
// flushed (Access denied), and NTFS journals renames (its metadata) itself.
func syncDir(*os.Root, string) error { return nil }

//go:build windows

package cli

import "os"

// termWidth assumes a usable console width on Windows.
func termWidth(*os.File) int { return 80 }

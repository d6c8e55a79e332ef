//go:build !windows

package manifests

import "testing"

// The manifests' places are the registration on Linux and macOS.
func scratchRegistry(*testing.T) {}

//go:build !windows

package manifests

// On Linux and macOS the manifest's place is its registration.

func register(Browser, string) error { return nil }

func unregister(Browser) error { return nil }

func registered(Browser, string) bool { return true }

//go:build !bindings

package main

// claimInstance: the real app takes the single-instance claim before
// wails.Run (see desktop_instance_bindings.go for why it sometimes must not).
const claimInstance = true

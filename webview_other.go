//go:build !linux

package main

// platformView does nothing here yet: WebView2 and WKWebView are not
// reached past Wails on Windows and macOS.
type platformView struct{}

func (platformView) Loaded() {}
func (platformView) Stop()   {}
func (platformView) Start()  {}

func webKitContext() {}

//go:build bindings

package main

// claimInstance is false in the run of this binary that `wails build` makes
// (built with -tags bindings) to generate the JS bindings: that run must not
// touch FERRY_HOME, and a running Ferry would otherwise make it exit early.
const claimInstance = false

//go:build !linux && !windows

package netcost

// watch: macOS's cost (NWPath's isExpensive and isConstrained) is only
// reachable through Network.framework, which needs cgo and Objective-C
// blocks that Ferry's cross-built darwin binary does not have; the cost
// stays unknown, that is unrestricted.
func (m *Monitor) watch() func() {
	m.log.Info("network cost is not read on this platform; treated as unrestricted")
	return func() {}
}

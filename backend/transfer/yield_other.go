//go:build !linux

package transfer

import "net"

// newProbe: no receiver-side delay signal is read on this platform yet
// (Windows' SIO_TCP_INFO and macOS' TCP_CONNECTION_INFO report the sender's
// round trip only), so background jobs do not yield here.
func newProbe(net.Conn) probe { return nil }

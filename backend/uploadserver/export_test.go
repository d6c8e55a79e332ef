package uploadserver

import "time"

// SetNow replaces the server's clock (tests of expiry).
func SetNow(s *Server, now func() time.Time) { s.now = now }

// Sweep runs one expiry pass now.
func Sweep(s *Server) { s.sweep() }

// SetDiskFree replaces the free-space probe of Dir.
func SetDiskFree(s *Server, f func() (int64, error)) { s.diskFree = f }

// ParseContentRange is parseContentRange (its fuzz target).
var ParseContentRange = parseContentRange

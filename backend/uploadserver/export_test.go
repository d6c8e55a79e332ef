package uploadserver

import (
	"context"
	"time"
)

// SetNow replaces the server's clock (tests of expiry).
func SetNow(s *Server, now func() time.Time) { s.now = now }

// Sweep runs one expiry pass now.
func Sweep(s *Server) {
	if s.fleet != nil {
		s.fleet.sweep(context.Background())
		return
	}
	s.sweep()
}

// SetDiskFree replaces the free-space probe of Dir.
func SetDiskFree(s *Server, f func() (int64, error)) { s.diskFree = f }

// SetBeforePlace runs f (with the session's key) just before a finished
// upload is moved into place.
func SetBeforePlace(s *Server, f func(key string)) { s.beforePlace = f }

// ParseContentRange is parseContentRange (its fuzz target).
var ParseContentRange = parseContentRange

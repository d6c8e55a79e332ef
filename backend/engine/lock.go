package engine

import (
	"sync"
	"sync/atomic"
	"time"
)

// timedMutex is the engine's memory lock. It records its longest hold, so
// tests and benchmarks can prove that no I/O happens under it.
type timedMutex struct {
	mu      sync.Mutex
	since   time.Time // monotonic; written only by the holder
	longest atomic.Int64
}

func (l *timedMutex) Lock() {
	l.mu.Lock()
	l.since = time.Now()
}

func (l *timedMutex) Unlock() {
	held := time.Since(l.since)
	if int64(held) > l.longest.Load() {
		l.longest.Store(int64(held))
	}
	l.mu.Unlock()
}

// LockStats reports the engine lock's longest hold since the last reset.
type LockStats struct {
	LongestHold time.Duration
}

// LockStats returns the longest hold of the engine's lock; reset starts a
// new measurement.
func (m *Manager) LockStats(reset bool) LockStats {
	s := LockStats{LongestHold: time.Duration(m.mu.longest.Load())}
	if reset {
		m.mu.longest.Store(0)
	}
	return s
}

// live is one file's bytes written but not yet durable: the transfer adds
// to it without the engine lock, and views of the job show it.
type live struct {
	n     atomic.Int64 // bytes in the temporary file; -1: none in flight
	total atomic.Int64 // the size the server announced; -2: not yet
	conns atomic.Int32 // connections the transfer holds open for it
	// headers is the header block of the file's last HTTP response
	// (File5's HTTP_RESPONSE_HEADERS), in memory only.
	headers atomic.Pointer[string]
}

// response records a response's header block (transfer.Request.Response).
func (l *live) response(block string) { l.headers.Store(&block) }

// newLives makes n counters in one allocation (a queue of 100,000 files
// made 100,000 small ones at start).
func newLives(n int) []*live {
	ls := make([]live, n)
	ps := make([]*live, n)
	for i := range ls {
		ls[i].n.Store(-1)
		ls[i].total.Store(-2)
		ps[i] = &ls[i]
	}
	return ps
}

func newLive() *live {
	l := &live{}
	l.n.Store(-1)
	l.total.Store(-2)
	return l
}

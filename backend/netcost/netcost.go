// Package netcost reads the cost of the network the machine is on, for the
// engine's COST_FLAGS policy: BITS_COST_STATE bits from the OS's own source
// (NetworkManager on Linux, the connectivity hint on Windows), kept current
// by the OS's change notifications, never by polling. A cost it cannot read
// is unrestricted, as BITS treats an unknown network.
package netcost

import (
	"log/slog"
	"sync/atomic"

	"ferry/backend/bits"
)

// Monitor holds the network's current cost.
type Monitor struct {
	log      *slog.Logger
	state    atomic.Uint32
	onChange func()
	stop     func()
}

// Start begins watching the network's cost; onChange (may be nil) runs
// after every change, on the monitor's goroutine, and must not block (the
// engine's Kick). It never fails: without a source the cost stays
// unrestricted (and the log says why).
func Start(log *slog.Logger, onChange func()) *Monitor {
	if log == nil {
		log = slog.Default()
	}
	m := &Monitor{log: log, onChange: onChange}
	m.state.Store(uint32(bits.CostUnrestricted))
	m.stop = m.watch()
	return m
}

// State is the network's cost now.
func (m *Monitor) State() bits.CostState { return bits.CostState(m.state.Load()) }

// Close stops watching; the cost stays as last read.
func (m *Monitor) Close() {
	if m.stop != nil {
		m.stop()
	}
}

// set records a cost read from the source; why is the source's own words.
func (m *Monitor) set(c bits.CostState, why string) {
	if c&0xFF == 0 {
		c = bits.CostUnrestricted
	}
	if bits.CostState(m.state.Swap(uint32(c))) == c {
		return
	}
	m.log.Info("network cost changed", "cost", c.String(), "source", why)
	if m.onChange != nil {
		m.onChange()
	}
}

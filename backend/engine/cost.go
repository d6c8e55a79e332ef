package engine

import "ferry/backend/bits"

// PropCostFlags is Job5's BITS_JOB_PROPERTY_ID_COST_FLAGS.
const PropCostFlags = "COST_FLAGS"

// NetworkCost reads the network's cost now (netcost.Monitor.State); the
// engine asks on every scheduler pass, and the monitor calls Kick when the
// cost changes, so a blocked job goes on without any polling.
type NetworkCost func() bits.CostState

// networkCost is the cost the scheduler plans with: unrestricted when
// nothing reads it.
func (m *Manager) networkCost() bits.CostState {
	if m.cfg.Cost == nil {
		return bits.CostUnrestricted
	}
	return m.cfg.Cost()
}

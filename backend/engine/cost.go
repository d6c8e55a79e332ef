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

// SetCostFlags is SetProperty(COST_FLAGS): the costs of network the job may
// transfer on. It may change at any time and applies at once: a running
// job on a network it no longer allows stops in TRANSIENT_ERROR
// BG_E_BLOCKED_BY_COST_TRANSFER_POLICY, a blocked one that is now allowed
// is queued again (the commit wakes the scheduler).
func (m *Manager) SetCostFlags(ref, value string) error {
	f, err := bits.ParseCostFlags(value)
	if err != nil {
		return err
	}
	return m.update(ref, func(c *change) error { c.job.CostFlags = f; return nil })
}

package engine

import (
	"time"

	"ferry/backend/bits"
)

// retryFailedPass bounds how soon a pass runs again after one of its
// changes could not be recorded (a full disk, say).
const retryFailedPass = time.Second

// loop runs the scheduler: one pass on every kick and at the next deadline.
func (m *Manager) loop() {
	defer close(m.done)
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return
		}
		views, pol, now := m.snapshot()
		m.mu.Unlock()
		acts, next := plan(views, pol, now)
		if !m.apply(acts) {
			if t := now.Add(retryFailedPass); next.IsZero() || t.Before(next) {
				next = t
			}
		}
		var tc <-chan time.Time
		var t interface{ Stop() bool }
		if !next.IsZero() {
			tm := m.clk.NewTimer(next.Sub(m.clk.Now()))
			tc, t = tm.C(), tm
		}
		select {
		case <-m.kick:
		case <-m.cfg.NetChanges:
			m.networkChanged()
		case <-tc:
		case <-m.stop:
			if t != nil {
				t.Stop()
			}
			return
		}
		if t != nil {
			t.Stop()
		}
	}
}

// Kick makes the scheduler run a pass now (tests use it after moving a fake clock).
func (m *Manager) Kick() { m.wake() }

// networkChanged notes a change of the machine's network: pooled
// connections may lead nowhere now (a request written on one would wait
// out the stall timeout), and jobs in TRANSIENT_ERROR retry (retryAt).
func (m *Manager) networkChanged() {
	for _, d := range m.cfg.Drivers {
		if c, ok := d.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
	m.mu.Lock()
	m.netChange = m.clk.Now()
	m.mu.Unlock()
}

// netSettle: a job that failed this soon after a network change may have
// failed because the network was still coming up (a link's routes and
// addresses arrive one by one): it retries this long after its failure
// rather than after its whole retry delay.
const netSettle = 5 * time.Second

// retryAt is when a TRANSIENT_ERROR job goes back to the queue: at its
// retry delay, or at once when the network changed since it failed, as
// BITS retries when connectivity returns (caller holds mu).
func (m *Manager) retryAt(j *bits.Job) time.Time {
	if j.State != bits.StateTransientError || m.netChange.IsZero() || j.RetryAt.IsZero() {
		return j.RetryAt
	}
	failed := j.RetryAt.Add(-time.Duration(j.MinRetryDelay) * time.Second)
	switch {
	case m.netChange.After(failed):
		return m.netChange
	case m.netChange.Add(netSettle).After(failed):
		if t := failed.Add(netSettle); t.Before(j.RetryAt) {
			return t
		}
	}
	return j.RetryAt
}

// snapshot collects what plan needs (caller holds mu).
func (m *Manager) snapshot() ([]jobView, policy, time.Time) {
	now := m.clk.Now()
	views := make([]jobView, 0, len(m.jobs))
	for id, e := range m.jobs {
		j := e.job
		v := jobView{
			id: id, state: j.State, priority: j.Priority, queuedAt: e.queuedAt,
			running: e.worker != nil, held: e.hold > 0,
			sliceStart: e.sliceStart, activeSince: e.activeSince, activeTime: j.ActiveTime,
			maxDownloadTime: j.MaxDownloadTime, retryAt: m.retryAt(j),
			noProgressSince: j.NoProgressSince, noProgressTimeout: j.NoProgressTimeout,
			modTime: j.ModificationTime, finalTime: j.FinalTime, costFlags: j.CostFlagsOrDefault(),
		}
		if j.Error != nil {
			v.errCode = j.Error.Code
		}
		if m.notifyPending(e) && !j.NotifyAttemptAt.IsZero() {
			v.notifyAt = j.NotifyAttemptAt
		}
		views = append(views, v)
	}
	pol := policy{
		maxForeground: int(m.settings.Get(KeyMaxForegroundJobs)),
		maxBackground: int(m.settings.Get(KeyMaxBackgroundJobs)),
		slice:         time.Duration(m.settings.Get(KeyTimeSlice)) * time.Second,
		inactivity:    time.Duration(m.settings.Get(KeyJobInactivityTimeout)) * time.Second,
		retention:     m.cfg.FinalRetention,
		capFor:        m.bw.capFor,
		windowEdge:    m.bw.nextEdge,
		cost:          m.networkCost(),
	}
	return views, pol, now
}

// apply carries out a pass's actions, each through the commit path. It
// reports false when some change could not be recorded.
func (m *Manager) apply(acts []action) bool {
	ok := true
	for _, a := range acts {
		m.mu.Lock()
		e := m.jobs[a.id]
		m.mu.Unlock()
		if e == nil {
			continue
		}
		if err := m.act(e, a.kind); err != nil {
			m.log.Warn("scheduler change not made", "job", a.id, "action", a.kind.String(), "err", err)
			ok = false
		}
	}
	return ok
}

// act is one scheduler action on e. Each re-checks its condition on the
// committed record: the job may have changed since the pass looked.
func (m *Manager) act(e *entry, k actKind) error {
	switch k {
	case actRotate:
		m.mu.Lock()
		m.queueSeq++
		e.queuedAt = m.queueSeq
		m.mu.Unlock()
		return nil
	case actNotify:
		m.mu.Lock()
		m.maybeNotify(e)
		m.mu.Unlock()
		return nil
	case actStart:
		m.mu.Lock()
		if e.worker == nil && e.hold == 0 && e.job.State.Active() {
			// It lost its worker without a state change (a change that
			// could not be recorded): give it one again.
			m.startWorker(e, m.clk.Now())
			m.mu.Unlock()
			return nil
		}
		m.mu.Unlock()
	case actInactive:
		m.log.Info("cancelling inactive job", "job", e.id)
		_, err := m.cancel(e)
		return err
	}
	return m.tryCommit(e, func(c *change) error {
		j := c.job
		if c.e.hold > 0 {
			return errStale
		}
		switch k {
		case actStart:
			if c.e.worker != nil || j.State != bits.StateQueued {
				return errStale
			}
			c.start = true
			if err := c.to(bits.StateConnecting); err != nil {
				return err
			}
			c.event(EventModified, -1)
		case actPreempt:
			if c.e.worker == nil || !j.State.Active() {
				return errStale
			}
			if err := c.to(bits.StateQueued); err != nil {
				return err
			}
			c.event(EventModified, -1)
		case actRetry, actUnblock:
			if j.State != bits.StateTransientError {
				return errStale
			}
			if err := c.to(bits.StateQueued); err != nil {
				return err
			}
			c.event(EventModified, -1)
		case actNoProgress:
			if j.State != bits.StateTransientError {
				return errStale
			}
			return c.toError()
		case actMaxTime:
			if !j.State.Active() {
				return errStale
			}
			return c.fail(&bits.JobError{Context: bits.ContextGeneralQueueManager, Code: bits.BG_E_MAXDOWNLOAD_TIMEOUT, FileIndex: -1,
				Description: "The job was active for longer than its maximum download time."}, true, false)
		case actBlock, actCostBlock:
			if !(j.State == bits.StateQueued || j.State.Active()) {
				return errStale
			}
			code := bits.BG_E_BLOCKED_BY_POLICY
			if k == actCostBlock {
				code = bits.BG_E_BLOCKED_BY_COST_TRANSFER_POLICY
			}
			return c.fail(&bits.JobError{Context: bits.ContextGeneralQueueManager, Code: code, FileIndex: -1}, false, true)
		case actPurge:
			if !j.State.Final() {
				return errStale
			}
			c.remove = true
		}
		return nil
	})
}

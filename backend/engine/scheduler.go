package engine

import (
	"sort"
	"time"

	"ferry/backend/bits"
)

var timeZero time.Time

// loop runs the scheduler: one pass on every kick and at the next deadline.
func (m *Manager) loop() {
	defer close(m.done)
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return
		}
		next := m.schedule()
		m.mu.Unlock()
		var tc <-chan time.Time
		var t interface{ Stop() bool }
		if !next.IsZero() {
			tm := m.clk.NewTimer(next.Sub(m.clk.Now()))
			tc, t = tm.C(), tm
		}
		select {
		case <-m.kick:
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

// schedule applies every timer and picks the jobs that transfer now. It
// returns the next moment something is due (zero: nothing). Caller holds mu.
func (m *Manager) schedule() time.Time {
	now := m.clk.Now()
	var next time.Time
	due := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	inactivity := time.Duration(m.settings.Get(KeyJobInactivityTimeout)) * time.Second
	for id, e := range m.jobs {
		j := e.job
		if j.State.Final() {
			purge := j.FinalTime.Add(m.cfg.FinalRetention)
			if !now.Before(purge) {
				delete(m.jobs, id)
				if err := m.st.DeleteJob(id); err != nil {
					m.log.Error("purge job", "job", id, "err", err)
				}
				continue
			}
			due(purge)
			continue
		}
		if e.hold > 0 {
			continue
		}
		// JobInactivityTimeout: no change and no progress for that long.
		if !j.State.Active() {
			idle := j.ModificationTime.Add(inactivity)
			if !now.Before(idle) {
				m.log.Info("cancelling inactive job", "job", id)
				m.cancelNow(e)
				due(j.FinalTime.Add(m.cfg.FinalRetention))
				continue
			}
			due(idle)
		}
		switch j.State {
		case bits.StateTransientError:
			if j.Error != nil && j.Error.Code == bits.BG_E_BLOCKED_BY_POLICY {
				if m.bw.capFor(j.Priority, now) != 0 {
					m.setState(e, bits.StateQueued)
					m.persistRow(e)
					m.emit(e, EventModified, -1)
				}
				break
			}
			limit := j.NoProgressSince.Add(time.Duration(j.NoProgressTimeout) * time.Second)
			if !j.NoProgressSince.IsZero() && !now.Before(limit) {
				m.toError(e)
				break
			}
			if !now.Before(j.RetryAt) {
				m.setState(e, bits.StateQueued)
				m.persistRow(e)
				m.emit(e, EventModified, -1)
				break
			}
			due(j.RetryAt)
			if !j.NoProgressSince.IsZero() {
				due(limit)
			}
		case bits.StateConnecting, bits.StateTransferring:
			if j.MaxDownloadTime > 0 && !e.activeSince.IsZero() {
				left := time.Duration(j.MaxDownloadTime)*time.Second - j.ActiveTime
				deadline := e.activeSince.Add(left)
				if !now.Before(deadline) {
					m.detach(e)
					m.fail(e, &bits.JobError{Context: bits.ContextGeneralQueueManager, Code: bits.BG_E_MAXDOWNLOAD_TIMEOUT, FileIndex: -1,
						Description: "The job was active for longer than its maximum download time."}, true, false)
					continue
				}
				due(deadline)
			}
		case bits.StateTransferred, bits.StateError:
			if t := m.maybeNotify(e); !t.IsZero() {
				due(t)
			}
		}
	}
	due(m.assignSlots(now))
	if m.bw.windowed() {
		due(now.Truncate(time.Hour).Add(time.Hour))
	}
	return next
}

// assignSlots starts and pre-empts transfers: every FOREGROUND job (up to the
// setting) plus maxBackgroundJobs others by priority, round-robin within a
// priority by time slice. It returns the next slice end that matters.
func (m *Manager) assignSlots(now time.Time) time.Time {
	var fg, bg []*entry
	for _, e := range m.jobs {
		j := e.job
		if e.hold > 0 || !(j.State == bits.StateQueued || j.State.Active()) {
			continue
		}
		if j.Priority == bits.PriorityForeground {
			fg = append(fg, e)
			continue
		}
		if m.bw.capFor(j.Priority, now) == 0 {
			// A zero bandwidth cap blocks background work until it lifts.
			if e.worker != nil {
				m.detach(e)
			}
			m.fail(e, &bits.JobError{Context: bits.ContextGeneralQueueManager, Code: bits.BG_E_BLOCKED_BY_POLICY, FileIndex: -1}, false, true)
			continue
		}
		bg = append(bg, e)
	}
	order := func(es []*entry) {
		sort.Slice(es, func(a, b int) bool {
			if es[a].job.Priority != es[b].job.Priority {
				return es[a].job.Priority < es[b].job.Priority
			}
			return es[a].queuedAt < es[b].queuedAt
		})
	}
	slice := time.Duration(m.settings.Get(KeyTimeSlice)) * time.Second
	maxBg := int(m.settings.Get(KeyMaxBackgroundJobs))
	var next time.Time
	// A running job whose slice ended goes to the back of its priority's line
	// when someone of the same or higher priority is waiting.
	order(bg)
	if len(bg) > maxBg {
		for _, e := range bg {
			if e.worker == nil {
				continue
			}
			end := e.sliceStart.Add(slice)
			waiting := false
			for _, o := range bg {
				if o.worker == nil && o.job.Priority <= e.job.Priority {
					waiting = true
					break
				}
			}
			if !waiting {
				continue
			}
			if !now.Before(end) {
				m.queueSeq++
				e.queuedAt = m.queueSeq
			} else if next.IsZero() || end.Before(next) {
				next = end
			}
		}
		order(bg)
	}
	order(fg)
	run := map[*entry]bool{}
	maxFg := int(m.settings.Get(KeyMaxForegroundJobs))
	for i, e := range fg {
		if maxFg == 0 || i < maxFg {
			run[e] = true
		}
	}
	for i, e := range bg {
		if i < maxBg {
			run[e] = true
		}
	}
	for _, e := range append(fg, bg...) {
		switch {
		case run[e] && e.worker == nil:
			m.startWorker(e, now)
		case !run[e] && e.worker != nil:
			m.detach(e)
			m.setState(e, bits.StateQueued)
			m.persistRow(e)
			m.emit(e, EventModified, -1)
		}
	}
	return next
}

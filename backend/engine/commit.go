package engine

import (
	"errors"
	"time"

	"ferry/backend/bits"
	"ferry/backend/store"
)

// Every change to a job takes one path, commit:
//
//  1. under mu, fn edits a copy of the committed record (and may refuse,
//     returning an error: nothing changes);
//  2. outside mu, the copy is written to the store (group-committed with
//     whatever else is being written);
//  3. only when the write succeeded, under mu, the copy replaces the record
//     and the change's events are published.
//
// A failed write returns ERROR_DISK_FULL or E_FAIL to the caller and leaves
// the job exactly as a restart would find it. The committed record is never
// edited in place, so a snapshot taken under mu may be read after unlocking.
// e.op serialises the commits of one job (so two edits never start from the
// same copy); it is taken before mu and never while holding it.

var timeZero time.Time

// errStale: the change no longer applies (its worker lost the slot, the job
// was purged); commit drops it quietly.
var errStale = errors.New("stale change")

// change is one commit being prepared.
type change struct {
	m      *Manager
	e      *entry
	old    *bits.Job
	job    *bits.Job // the copy fn edits
	now    time.Time
	events []pendingEvent
	// secrets and dropSecrets are written in the same transaction.
	secrets     map[string][]byte
	dropSecrets []string
	// start gives the job a transfer slot once committed (it is CONNECTING).
	start bool
	// restart stops the job's transfer so that it starts again with new
	// settings; the scheduler gives it a slot again.
	restart bool
	// remove deletes the job from the store and from memory (purge).
	remove bool
	// insert makes a new job (CreateJob) known once its row is durable.
	insert bool
	// forget lists files whose content was dropped: their live counts go
	// before the change is shown.
	forget []int
	// noop: fn found nothing to change.
	noop bool
	// after runs under mu once the change is installed.
	after func()
}

type pendingEvent struct {
	kind EventKind
	file int
}

// commit runs fn on a copy of e's record and makes the result durable, then
// visible. See the package comment above.
func (m *Manager) commit(e *entry, fn func(c *change) error) error {
	e.op.Lock()
	err := m.commitLocked(e, fn)
	e.op.Unlock()
	m.wake() // after the unlock: a scheduler that found e busy looks again
	return err
}

// tryCommit is commit for the scheduler: a job whose operations are busy
// (an exclusive operation such as Complete, or another commit) is skipped
// rather than waited for, so that one job's Complete never stalls the
// others' scheduling. Whoever holds the job wakes the scheduler when done.
func (m *Manager) tryCommit(e *entry, fn func(c *change) error) error {
	if !e.op.TryLock() {
		return nil
	}
	err := m.commitLocked(e, fn)
	e.op.Unlock()
	m.wake()
	return err
}

// commitLocked is commit with e.op held by the caller.
func (m *Manager) commitLocked(e *entry, fn func(c *change) error) error {
	m.mu.Lock()
	if e.gone {
		m.mu.Unlock()
		return bits.Errorf(bits.BG_E_NOT_FOUND, "the job no longer exists")
	}
	c := &change{m: m, e: e, old: e.job, job: e.job.Clone(), now: m.clk.Now()}
	err := fn(c)
	m.mu.Unlock()
	if errors.Is(err, errStale) {
		return nil
	}
	if err != nil || c.noop {
		return err
	}
	if err := m.st.Commit(c.storeChange()); err != nil {
		m.log.Error("could not record a change; the job is left as it was", "job", e.id, "err", err)
		return storeError(err)
	}
	m.mu.Lock()
	m.install(c)
	m.mu.Unlock()
	return nil
}

// commitFunc commits one change inside an exclusive operation.
type commitFunc func(fn func(c *change) error) error

// exclusive runs fn as one step of e's history. e's transfer is stopped
// (its last checkpoint recorded), the scheduler keeps off the job, and no
// other operation's commit on e begins until fn returns: fn's checks, its
// file-system work and all its commits (made through the commitFunc it is
// given) are one step, so nothing another caller does can fall between
// them. An operation that plans from the record and writes more than once
// (Complete, Cancel) runs here; a concurrent AddFile waits, then sees the
// outcome (ACKNOWLEDGED: refused).
func (m *Manager) exclusive(e *entry, fn func(commit commitFunc) error) error {
	release := m.hold(e)
	defer release()
	e.op.Lock()
	defer e.op.Unlock()
	return fn(func(f func(c *change) error) error { return m.commitLocked(e, f) })
}

// storeError turns a failed store write into the caller's BITS error.
func storeError(err error) error {
	if store.IsDiskFull(err) {
		return bits.Errorf(bits.ERROR_DISK_FULL, "the change was not made: FERRY_HOME's disk is full (%v)", err)
	}
	return bits.Errorf(bits.E_FAIL, "the change was not made: the job database could not be written (%v)", err)
}

// storeChange is what the store writes: the job row, and the file rows that
// differ from the committed record.
func (c *change) storeChange() store.Change {
	sc := store.Change{Seq: c.e.seq, Job: c.job, Delete: c.remove, Secrets: c.secrets, DropSecrets: c.dropSecrets}
	if public, secret := splitHeaders(c.job.CustomHeaders); secret {
		// Credentials in headers live sealed (ops_http.go), never in the row.
		row := *c.job
		row.CustomHeaders = public
		sc.Job = &row
	}
	if c.remove {
		return sc
	}
	if len(c.job.Files) < len(c.old.Files) {
		return sc // files removed: rewrite them all
	}
	var idx []int
	for i := range c.job.Files {
		if i >= len(c.old.Files) || !c.job.Files[i].Equal(c.old.Files[i]) {
			idx = append(idx, i)
		}
	}
	return sc.OnlyFiles(idx...)
}

// event queues an event, published once the change is installed.
func (c *change) event(kind EventKind, file int) {
	c.events = append(c.events, pendingEvent{kind, file})
}

// touch marks a change by the user or by progress: it resets the inactivity clock.
func (c *change) touch() { c.job.ModificationTime = c.now }

// allowed is bits-reference §4.2: which state may follow which. Final
// states are left by nothing; everything else may be suspended, cancelled or
// (downloads; uploads from TRANSFERRED) completed.
// ERROR is also reached from SUSPENDED, QUEUED and TRANSFERRED when a
// file's content is declared invalid (File3 SetValidationState FALSE).
var allowed = map[bits.JobState][]bits.JobState{
	bits.StateSuspended:      {bits.StateQueued, bits.StateError},
	bits.StateQueued:         {bits.StateConnecting, bits.StateTransientError, bits.StateError},
	bits.StateConnecting:     {bits.StateTransferring, bits.StateTransientError, bits.StateError, bits.StateQueued, bits.StateTransferred},
	bits.StateTransferring:   {bits.StateTransientError, bits.StateError, bits.StateQueued, bits.StateTransferred},
	bits.StateTransientError: {bits.StateQueued, bits.StateError},
	bits.StateError:          {bits.StateQueued},
	bits.StateTransferred:    {bits.StateQueued, bits.StateError},
}

func transitionAllowed(from, to bits.JobState) bool {
	if from == to {
		return true
	}
	if from.Final() {
		return false
	}
	switch to {
	case bits.StateSuspended, bits.StateCancelled, bits.StateAcknowledged:
		return true
	}
	for _, s := range allowed[from] {
		if s == to {
			return true
		}
	}
	return false
}

// to moves the copy to state s, refusing a transition §4.2 does not have,
// and keeps the bookkeeping that goes with states: active time, the error
// object's lifetime, the final time.
func (c *change) to(s bits.JobState) error {
	j := c.job
	if !transitionAllowed(j.State, s) {
		return bits.Errorf(bits.BG_E_INVALID_STATE, "job %s cannot go from %s to %s", j.ID, j.State, s)
	}
	if j.State.Active() && !s.Active() && !c.e.activeSince.IsZero() {
		j.ActiveTime += c.now.Sub(c.e.activeSince)
	}
	if s == bits.StateTransferring {
		j.Error = nil // the error object lives only until transfer resumes
	}
	if s.Final() {
		j.FinalTime = c.now
	}
	if s != j.State {
		j.State = s
		j.ModificationTime = c.now
	}
	return nil
}

// install makes c the committed record (caller holds mu).
func (m *Manager) install(c *change) {
	e, old, j := c.e, c.old, c.job
	if c.remove {
		e.gone = true
		delete(m.jobs, j.ID)
		return
	}
	if c.insert {
		m.jobs[j.ID] = e
	}
	if !old.State.Active() && j.State.Active() {
		e.activeSince = c.now
	}
	if old.State.Active() && !j.State.Active() {
		e.activeSince = time.Time{}
	}
	if j.State == bits.StateQueued && old.State != bits.StateQueued && !old.State.Active() {
		m.queueSeq++
		e.queuedAt = m.queueSeq
	}
	for len(e.live) < len(j.Files) {
		e.live = append(e.live, newLive())
	}
	e.job = j
	for _, i := range c.forget {
		e.forget(i)
	}
	if e.worker != nil && (c.restart || !j.State.Active()) {
		m.detach(e)
	}
	if c.start && e.worker == nil && e.hold == 0 && j.State.Active() {
		m.startWorker(e, c.now)
	}
	if len(c.events) > 0 {
		v := m.view(e) // once: a job may have thousands of files
		info := v.Info(false)
		var withFiles *bits.JobInfo
		for _, ev := range c.events {
			in := info
			if ev.kind == EventFileTransferred && len(v.Files) <= eventFileList {
				if withFiles == nil {
					wf := v.Info(true)
					withFiles = &wf
				}
				in = *withFiles
			}
			m.publish(e, v, in, ev.kind, ev.file)
		}
	}
	if c.after != nil {
		c.after()
	}
}

// verb checks the declared verb against the copy: nil when it acts, nil
// with c.noop set when it does nothing here, else its refusal.
func (c *change) verb(name string) error {
	err := verb(name).check(c.job)
	if err == errNoOp {
		c.noop = true
		return nil
	}
	return err
}

// update applies a property change to a job that is not final: the common
// shape of the setters.
func (m *Manager) update(ref string, apply func(c *change) error) error {
	e, err := m.find(ref)
	if err != nil {
		return err
	}
	return m.commit(e, func(c *change) error {
		if c.job.State.Final() {
			return finalErr(c.job)
		}
		if err := apply(c); err != nil {
			return err
		}
		c.touch()
		c.event(EventModified, -1)
		return nil
	})
}

func finalErr(j *bits.Job) error {
	return bits.Errorf(bits.BG_E_INVALID_STATE, "job %s is %s and can no longer be changed", j.ID, j.State)
}

// find looks a job up by id or unique display name.
func (m *Manager) find(ref string) (*entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lookup(ref)
}

// findLive looks up a job that still accepts changes.
func (m *Manager) findLive(ref string) (*entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lookupLive(ref)
}

// hold stops e's transfer, waits for it (its last checkpoint included) and
// keeps the scheduler off the job until release is called. Operations that
// touch the job's files (Cancel, Complete) run between the two.
func (m *Manager) hold(e *entry) (release func()) {
	m.mu.Lock()
	w := m.detach(e)
	e.hold++
	m.mu.Unlock()
	w.wait()
	return func() {
		m.mu.Lock()
		e.hold--
		m.mu.Unlock()
		m.wake()
	}
}

// fail records a failure on the copy: TRANSIENT_ERROR with a retry after the
// minimum retry delay, or ERROR when it is fatal, when retries are off
// (NoProgressTimeout 0, retry delay beyond it, custom HTTP method) or when
// nothing has progressed for NoProgressTimeout. policy marks a block by
// bandwidth policy: not counted, re-queued when the policy lifts.
func (c *change) fail(je *bits.JobError, fatal, policy bool) error {
	j := c.job
	if je.Description == "" {
		je.Description = je.Code.Description()
	}
	j.Error = je
	if !policy && je.Code != bits.BG_E_NETWORK_DISCONNECTED {
		j.ErrorCount++
	}
	if !policy && !fatal {
		if j.NoProgressTimeout == 0 || j.MinRetryDelay > j.NoProgressTimeout || j.HTTPMethod != "" {
			fatal = true
		} else {
			if j.NoProgressSince.IsZero() {
				j.NoProgressSince = c.now
			}
			if c.now.Sub(j.NoProgressSince) >= time.Duration(j.NoProgressTimeout)*time.Second {
				fatal = true
			}
		}
	}
	if fatal {
		return c.toError()
	}
	j.RetryAt = time.Time{}
	if !policy {
		j.RetryAt = c.now.Add(time.Duration(j.MinRetryDelay) * time.Second)
	}
	if err := c.to(bits.StateTransientError); err != nil {
		return err
	}
	c.event(EventModified, -1)
	return nil
}

// toError moves the copy to ERROR and raises the JobError event.
func (c *change) toError() error {
	j := c.job
	if err := c.to(bits.StateError); err != nil {
		return err
	}
	j.RetryAt = time.Time{}
	j.NotifyEpoch++
	j.NotifyAttemptAt = time.Time{}
	c.event(EventError, -1)
	c.after = func() { c.m.maybeNotify(c.e) }
	return nil
}

package engine

import (
	"sort"
	"time"

	"ferry/backend/bits"
)

// The scheduler is a pure function: plan looks at every job, the settings
// and the time, and says what must happen now and when it must look again.
// Every deadline (slice ends, retry times, no-progress limits, maximum
// download times, inactivity, purges, bandwidth-window edges, notify
// retries) is derived afresh from state on every pass, so a job that starts
// in this pass has its deadlines armed in this pass too.

// jobView is what plan knows of one job.
type jobView struct {
	id       string
	state    bits.JobState
	priority bits.JobPriority
	queuedAt int64
	running  bool // has a transfer slot (a worker)
	held     bool // an operation holds it off the scheduler
	// sliceStart and activeSince are meaningful while running/active.
	sliceStart        time.Time
	activeSince       time.Time
	activeTime        time.Duration
	maxDownloadTime   int64 // seconds; 0 = none
	retryAt           time.Time
	noProgressSince   time.Time
	noProgressTimeout int64 // seconds
	modTime           time.Time
	finalTime         time.Time
	errCode           bits.HRESULT
	notifyAt          time.Time // a notify command line retry is due (zero: none)
	costFlags         bits.CostState
}

// policy is what plan knows of the settings.
type policy struct {
	maxForeground int // 0 = all
	maxBackground int
	slice         time.Duration
	inactivity    time.Duration
	retention     time.Duration
	// capFor is the bandwidth cap of a priority at a time: -1 none, 0 blocked.
	capFor func(p bits.JobPriority, at time.Time) int64
	// windowEdge is the next change of the bandwidth window (zero: none).
	windowEdge func(now time.Time) time.Time
	// cost is the network's cost now (COST_FLAGS decides who may use it).
	cost bits.CostState
}

type actKind int

const (
	actStart      actKind = iota // give a slot: QUEUED → CONNECTING
	actPreempt                   // take the slot back: → QUEUED
	actRotate                    // slice over: to the back of its priority's line (memory only)
	actRetry                     // TRANSIENT_ERROR whose retry delay passed → QUEUED
	actNoProgress                // TRANSIENT_ERROR for NoProgressTimeout → ERROR
	actMaxTime                   // active longer than MaxDownloadTime → ERROR
	actInactive                  // JobInactivityTimeout → CANCELLED
	actPurge                     // a final job past its retention leaves
	actBlock                     // a zero bandwidth cap → TRANSIENT_ERROR BG_E_BLOCKED_BY_POLICY
	actUnblock                   // the cap lifted → QUEUED
	actNotify                    // run the notify command line again
	actCostBlock                 // COST_FLAGS disallow the network's cost → TRANSIENT_ERROR BG_E_BLOCKED_BY_COST_TRANSFER_POLICY
)

var actNames = [...]string{"start", "preempt", "rotate", "retry", "noProgress", "maxTime", "inactive", "purge", "block", "unblock", "notify", "costBlock"}

func (k actKind) String() string { return actNames[k] }

type action struct {
	kind actKind
	id   string
}

// plan is one scheduler pass. It returns the actions, in the order to apply
// them, and the next moment something falls due (zero: nothing).
func plan(jobs []jobView, p policy, now time.Time) (acts []action, next time.Time) {
	due := func(t time.Time) {
		if !t.IsZero() && t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	do := func(k actKind, id string) { acts = append(acts, action{k, id}) }
	var cands []*jobView
	// Jobs re-queued in this pass join the back of their line, in pass order.
	requeued := int64(1) << 62
	for i := range jobs {
		j := &jobs[i]
		if j.state.Final() {
			if purge := j.finalTime.Add(p.retention); !now.Before(purge) {
				do(actPurge, j.id)
			} else {
				due(purge)
			}
			continue
		}
		if j.held {
			continue
		}
		if !j.notifyAt.IsZero() {
			if !now.Before(j.notifyAt) {
				do(actNotify, j.id)
			} else {
				due(j.notifyAt)
			}
		}
		if !j.state.Active() {
			idle := j.modTime.Add(p.inactivity)
			if !now.Before(idle) {
				do(actInactive, j.id)
				continue
			}
			due(idle)
		}
		switch j.state {
		case bits.StateQueued:
			cands = append(cands, j)
		case bits.StateConnecting, bits.StateTransferring:
			if j.running && j.maxDownloadTime > 0 && !j.activeSince.IsZero() {
				deadline := j.activeSince.Add(time.Duration(j.maxDownloadTime)*time.Second - j.activeTime)
				if !now.Before(deadline) {
					do(actMaxTime, j.id)
					continue
				}
				due(deadline)
			}
			cands = append(cands, j)
		case bits.StateTransientError:
			if j.errCode == bits.BG_E_BLOCKED_BY_POLICY || j.errCode == bits.BG_E_BLOCKED_BY_COST_TRANSFER_POLICY {
				// A policy block lifts when its condition does; another
				// block it meets then is assign's to find.
				if j.errCode == bits.BG_E_BLOCKED_BY_POLICY && p.capFor(j.priority, now) != 0 ||
					j.errCode == bits.BG_E_BLOCKED_BY_COST_TRANSFER_POLICY && j.costFlags.Allows(p.cost) {
					do(actUnblock, j.id)
					j.queuedAt, requeued = requeued, requeued+1
					cands = append(cands, j)
				}
				continue
			}
			limit := j.noProgressSince.Add(time.Duration(j.noProgressTimeout) * time.Second)
			if !j.noProgressSince.IsZero() && !now.Before(limit) {
				do(actNoProgress, j.id)
				continue
			}
			if !now.Before(j.retryAt) {
				do(actRetry, j.id)
				j.queuedAt, requeued = requeued, requeued+1
				cands = append(cands, j)
				continue
			}
			due(j.retryAt)
			if !j.noProgressSince.IsZero() {
				due(limit)
			}
		}
	}
	acts = append(acts, assign(cands, p, now, due)...)
	if p.windowEdge != nil {
		due(p.windowEdge(now))
	}
	return acts, next
}

// assign picks the jobs that transfer now: every FOREGROUND job (up to the
// setting), then maxBackground others by priority, round-robin within a
// priority by time slice.
func assign(cands []*jobView, p policy, now time.Time, due func(time.Time)) []action {
	var acts []action
	do := func(k actKind, id string) { acts = append(acts, action{k, id}) }
	var fg, bg []*jobView
	for _, j := range cands {
		switch {
		case !j.costFlags.Allows(p.cost):
			// COST_FLAGS apply to every priority: the network is too
			// expensive for this job until the cost changes.
			do(actCostBlock, j.id)
		case j.priority == bits.PriorityForeground:
			fg = append(fg, j)
		case p.capFor(j.priority, now) == 0:
			// A zero bandwidth cap blocks background work until it lifts.
			do(actBlock, j.id)
		default:
			bg = append(bg, j)
		}
	}
	order := func(js []*jobView) {
		sort.SliceStable(js, func(a, b int) bool {
			if js[a].priority != js[b].priority {
				return js[a].priority < js[b].priority
			}
			return js[a].queuedAt < js[b].queuedAt
		})
	}
	order(bg)
	// A running job whose slice ended goes to the back of its priority's
	// line when a job of the same or a higher priority is waiting.
	waitingAtOrAbove := func(j *jobView) bool {
		for _, o := range bg {
			if !o.running && o.priority <= j.priority {
				return true
			}
		}
		return false
	}
	if len(bg) > p.maxBackground {
		rotated := false
		back := int64(3) << 61 // behind every waiting and re-queued job, in rotation order
		for _, j := range bg {
			if j.running && !now.Before(j.sliceStart.Add(p.slice)) && waitingAtOrAbove(j) {
				do(actRotate, j.id)
				j.queuedAt, back = back, back+1
				rotated = true
			}
		}
		if rotated {
			order(bg)
		}
	}
	order(fg)
	run := map[*jobView]bool{}
	for i, j := range fg {
		if p.maxForeground == 0 || i < p.maxForeground {
			run[j] = true
		}
	}
	for i, j := range bg {
		if i < p.maxBackground {
			run[j] = true
		}
	}
	for _, j := range append(fg, bg...) {
		switch {
		case run[j] && !j.running:
			do(actStart, j.id)
		case !run[j] && j.running:
			do(actPreempt, j.id)
		}
	}
	// Deadlines of the jobs that hold a slot after this pass, including the
	// ones it starts: a slice end matters while someone of the same or a
	// higher priority waits; a job's maximum download time always does.
	for _, j := range bg {
		if !run[j] {
			continue
		}
		start := j.sliceStart
		if !j.running {
			start = now
		}
		for _, o := range bg {
			if !run[o] && o.priority <= j.priority {
				due(start.Add(p.slice))
				break
			}
		}
	}
	for _, j := range append(fg, bg...) {
		if run[j] && !j.running && j.maxDownloadTime > 0 {
			due(now.Add(time.Duration(j.maxDownloadTime)*time.Second - j.activeTime))
		}
	}
	return acts
}

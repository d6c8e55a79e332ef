package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
)

// sim drives plan as the engine does: it applies each pass's actions to the
// job views and moves a fake "now" to the next deadline plan returns. A
// scheduler that forgets a deadline stops the simulation early, which is
// how the tables below catch starvation.
type sim struct {
	t     *testing.T
	now   time.Time
	p     policy
	jobs  []jobView
	seq   int64
	log   []string // the actions, "kind:id"
	trace []string // which jobs hold a slot after each pass
}

var simStart = time.Date(2026, 11, 23, 0, 30, 0, 0, time.UTC)

func newSim(t *testing.T, mod func(*policy)) *sim {
	p := policy{maxBackground: 1, slice: 2 * time.Second, inactivity: 90 * 24 * time.Hour, retention: 5 * time.Minute,
		capFor: func(bits.JobPriority, time.Time) int64 { return -1 }}
	if mod != nil {
		mod(&p)
	}
	return &sim{t: t, now: simStart, p: p}
}

func (s *sim) add(id string, state bits.JobState, prio bits.JobPriority) *jobView {
	s.seq++
	s.jobs = append(s.jobs, jobView{id: id, state: state, priority: prio, queuedAt: s.seq, modTime: s.now})
	return &s.jobs[len(s.jobs)-1]
}

func (s *sim) job(id string) *jobView {
	for i := range s.jobs {
		if s.jobs[i].id == id {
			return &s.jobs[i]
		}
	}
	s.t.Fatalf("no job %s", id)
	return nil
}

// pass runs one scheduler pass at s.now and applies its actions as the
// engine's act does; it returns the next deadline.
func (s *sim) pass() time.Time {
	acts, next := plan(append([]jobView(nil), s.jobs...), s.p, s.now)
	for _, a := range acts {
		s.log = append(s.log, a.kind.String()+":"+a.id)
		j := s.job(a.id)
		switch a.kind {
		case actStart:
			j.running, j.sliceStart = true, s.now
			if !j.state.Active() {
				j.state, j.activeSince = bits.StateTransferring, s.now
			}
		case actPreempt:
			j.running, j.state = false, bits.StateQueued
			j.activeTime += s.now.Sub(j.activeSince)
		case actRotate:
			s.seq++
			j.queuedAt = s.seq
		case actRetry, actUnblock:
			s.seq++
			j.state, j.queuedAt = bits.StateQueued, s.seq
		case actNoProgress, actMaxTime:
			j.running, j.state = false, bits.StateError
		case actBlock:
			j.running, j.state, j.errCode = false, bits.StateTransientError, bits.BG_E_BLOCKED_BY_POLICY
		case actCostBlock:
			j.running, j.state, j.errCode = false, bits.StateTransientError, bits.BG_E_BLOCKED_BY_COST_TRANSFER_POLICY
		}
	}
	var on []string
	for _, j := range s.jobs {
		if j.running {
			on = append(on, j.id)
		}
	}
	s.trace = append(s.trace, strings.Join(on, "+"))
	return next
}

// run makes passes until no deadline is left or until is reached.
func (s *sim) run(until time.Time) {
	for i := 0; i < 1000; i++ {
		next := s.pass()
		if next.IsZero() || next.After(until) {
			return
		}
		if !next.After(s.now) {
			s.t.Fatalf("deadline %v is not after now %v", next, s.now)
		}
		s.now = next
	}
	s.t.Fatal("too many passes")
}

// runners lists who held the slot after each pass, without repeats.
func (s *sim) runners() string {
	var out []string
	for _, r := range s.trace {
		if len(out) == 0 || out[len(out)-1] != r {
			out = append(out, r)
		}
	}
	return strings.Join(out, " ")
}

func TestPlanRotatesEqualPriorities(t *testing.T) {
	for _, tc := range []struct {
		jobs int
		want string
	}{
		{2, "a b a b a b a b a b a"},
		{3, "a b c a b c a b c a b"},
	} {
		t.Run(fmt.Sprint(tc.jobs, " jobs"), func(t *testing.T) {
			s := newSim(t, nil)
			for _, id := range []string{"a", "b", "c"}[:tc.jobs] {
				s.add(id, bits.StateQueued, bits.PriorityNormal)
			}
			// Ten slices of 2 s: every job gets its turn in order, none keeps the slot.
			s.run(simStart.Add(20 * time.Second))
			if got := s.runners(); got != tc.want {
				t.Fatalf("slots went %q, want %q (actions %v)", got, tc.want, s.log)
			}
		})
	}
}

func TestPlanNoRotationWithoutCompetitor(t *testing.T) {
	s := newSim(t, nil)
	s.add("a", bits.StateQueued, bits.PriorityNormal)
	s.add("low", bits.StateQueued, bits.PriorityLow)
	next := s.pass()
	if s.runners() != "a" || next.Before(simStart.Add(time.Hour)) {
		t.Fatalf("runners %q, next %v: a lower job waiting needs no slice deadline", s.runners(), next)
	}
}

func TestPlanMaxDownloadTimeArmedInTheStartingPass(t *testing.T) {
	s := newSim(t, nil)
	j := s.add("a", bits.StateQueued, bits.PriorityNormal)
	j.maxDownloadTime = 3
	next := s.pass()
	if want := simStart.Add(3 * time.Second); !next.Equal(want) {
		t.Fatalf("after starting, next deadline %v, want %v", next, want)
	}
	s.now = next
	s.pass()
	if got := s.job("a").state; got != bits.StateError || !strings.Contains(strings.Join(s.log, " "), "maxTime:a") {
		t.Fatalf("state %s, actions %v", got, s.log)
	}
}

func TestPlanMaxDownloadTimeCountsEarlierActiveTime(t *testing.T) {
	s := newSim(t, nil)
	j := s.add("a", bits.StateQueued, bits.PriorityNormal)
	j.maxDownloadTime, j.activeTime = 10, 8*time.Second // preempted after 8 s earlier
	if next := s.pass(); !next.Equal(simStart.Add(2 * time.Second)) {
		t.Fatalf("next %v: 2 s of the 10 are left", next)
	}
}

func TestPlanRetryAndNoProgressDeadlines(t *testing.T) {
	for _, tc := range []struct {
		name        string
		sinceAgo    time.Duration
		timeout     int64
		wantNext    time.Duration
		wantActions string
	}{
		// The retry comes first: re-queued, then started in the same pass.
		{"retry", 100 * time.Second, 1000, 600 * time.Second, "retry:a start:a"},
		// The no-progress limit comes first: ERROR, never retried.
		{"no progress", 100 * time.Second, 300, 200 * time.Second, "noProgress:a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, nil)
			j := s.add("a", bits.StateTransientError, bits.PriorityNormal)
			j.retryAt = simStart.Add(600 * time.Second)
			j.noProgressSince = simStart.Add(-tc.sinceAgo)
			j.noProgressTimeout = tc.timeout
			next := s.pass()
			if !next.Equal(simStart.Add(tc.wantNext)) {
				t.Fatalf("next %v, want +%v", next, tc.wantNext)
			}
			if len(s.log) != 0 {
				t.Fatalf("acted before the deadline: %v", s.log)
			}
			s.now = next
			s.pass()
			if got := strings.Join(s.log, " "); got != tc.wantActions {
				t.Fatalf("actions %q, want %q", got, tc.wantActions)
			}
		})
	}
}

func TestPlanBandwidthWindowOpensAndCloses(t *testing.T) {
	// A background cap of 0 from 01:00 to 02:00 local time.
	s := newSim(t, func(p *policy) {
		p.capFor = func(_ bits.JobPriority, at time.Time) int64 {
			if at.Hour() == 1 {
				return 0
			}
			return -1
		}
		p.windowEdge = func(now time.Time) time.Time { return now.Truncate(time.Hour).Add(time.Hour) }
	})
	s.add("bg", bits.StateQueued, bits.PriorityNormal)
	s.add("fg", bits.StateQueued, bits.PriorityForeground)
	s.run(simStart.Add(2 * time.Hour))
	want := "start:fg start:bg block:bg unblock:bg start:bg"
	if got := strings.Join(s.log, " "); got != want {
		t.Fatalf("actions %q, want %q", got, want)
	}
	if s.job("fg").state != bits.StateTransferring {
		t.Fatalf("foreground ignores bandwidth policy: %s", s.job("fg").state)
	}
}

func TestPlanPriorityPreemptsAndFinalJobsPurge(t *testing.T) {
	s := newSim(t, nil)
	s.add("low", bits.StateQueued, bits.PriorityLow)
	s.pass()
	s.add("high", bits.StateQueued, bits.PriorityHigh)
	done := s.add("done", bits.StateAcknowledged, bits.PriorityNormal)
	done.finalTime = simStart
	next := s.pass()
	if got := strings.Join(s.log, " "); got != "start:low start:high preempt:low" {
		t.Fatalf("actions %q", got)
	}
	if !next.Equal(simStart.Add(5 * time.Minute)) {
		t.Fatalf("next %v: the purge is due after the retention", next)
	}
	s.now = next
	s.pass()
	if !strings.Contains(strings.Join(s.log, " "), "purge:done") {
		t.Fatalf("actions %v", s.log)
	}
}

func TestPlanInactivityAndHeldJobs(t *testing.T) {
	s := newSim(t, func(p *policy) { p.inactivity = time.Hour })
	idle := s.add("idle", bits.StateSuspended, bits.PriorityNormal)
	held := s.add("held", bits.StateQueued, bits.PriorityNormal)
	held.held = true
	if next := s.pass(); !next.Equal(idle.modTime.Add(time.Hour)) {
		t.Fatalf("next %v", next)
	}
	s.now = simStart.Add(time.Hour)
	s.pass()
	if got := strings.Join(s.log, " "); got != "inactive:idle" {
		t.Fatalf("actions %q: a held job is left alone", got)
	}
}

// BenchmarkPlan is one scheduler pass over 10,000 jobs.
func BenchmarkPlan(b *testing.B) {
	p := policy{maxBackground: 1, slice: 2 * time.Minute, inactivity: 90 * 24 * time.Hour, retention: 5 * time.Minute,
		capFor: func(bits.JobPriority, time.Time) int64 { return -1 }}
	jobs := make([]jobView, 10000)
	for i := range jobs {
		jobs[i] = jobView{id: fmt.Sprint(i), state: []bits.JobState{bits.StateQueued, bits.StateSuspended, bits.StateTransientError}[i%3],
			priority: bits.JobPriority(1 + i%3), queuedAt: int64(i), modTime: simStart, retryAt: simStart.Add(time.Hour)}
	}
	b.ReportAllocs()
	for b.Loop() {
		plan(jobs, p, simStart)
	}
}

// TestPlanCostPolicy: COST_FLAGS bind every priority, a blocked job waits
// with no deadline (it is the cost change that wakes the scheduler), and
// each job goes on when the cost allows it.
func TestPlanCostPolicy(t *testing.T) {
	s := newSim(t, func(p *policy) { p.cost = bits.CostUsageBased | bits.CostRoaming })
	s.add("fg", bits.StateQueued, bits.PriorityForeground)
	s.add("unr", bits.StateQueued, bits.PriorityNormal).costFlags = bits.PolicyUnrestricted
	s.add("any", bits.StateQueued, bits.PriorityNormal).costFlags = bits.PolicyAlways
	if next := s.pass(); next.Sub(s.now) < 24*time.Hour {
		t.Fatalf("a cost block armed a deadline at %v", next) // only the inactivity timeout is due
	}
	if got := strings.Join(s.log, " "); got != "costBlock:fg costBlock:unr start:any" {
		t.Fatalf("actions %q", got)
	}
	s.job("any").running, s.job("any").state = false, bits.StateTransferred
	s.log = nil
	s.p.cost = bits.CostUsageBased // metered, home network
	s.pass()
	if got := strings.Join(s.log, " "); got != "unblock:fg start:fg" {
		t.Fatalf("metered: actions %q", got)
	}
	s.log = nil
	s.p.cost = bits.CostUnrestricted
	s.pass()
	if got := strings.Join(s.log, " "); got != "unblock:unr start:unr" {
		t.Fatalf("unrestricted: actions %q", got)
	}
}

package web

import (
	"context"
	"time"

	"ferry/backend/bits"
)

// MinPushInterval bounds pushed updates to about four a second per job, in
// the window and in the browser alike: progress arrives far faster than
// anyone can read it, and a thousand idle jobs must cost nothing.
const MinPushInterval = 250 * time.Millisecond

// Coalesce calls emit for the changes it receives, at most once per interval
// per job. A change that arrives too soon is held, replaced by newer ones, and
// sent when its interval is up, so the newest state of every job always
// reaches the UI (a final state included). It returns when ctx ends or
// changes is closed; emit runs on the caller's goroutine.
func Coalesce(ctx context.Context, changes <-chan bits.JobInfo, interval time.Duration, emit func(bits.JobInfo)) {
	last := map[string]time.Time{}       // when each job was last emitted
	pending := map[string]bits.JobInfo{} // held changes, newest wins
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	arm := func(now time.Time) {
		var due time.Time
		for id := range pending {
			if t := last[id].Add(interval); due.IsZero() || t.Before(due) {
				due = t
			}
		}
		timer.Reset(due.Sub(now))
		armed = true
	}
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case j, ok := <-changes:
			if !ok {
				// The source ended: what is held is still the newest
				// state of those jobs, so it goes out rather than being lost.
				for _, p := range pending {
					emit(p)
				}
				return
			}
			if _, held := pending[j.ID]; held {
				pending[j.ID] = j
				continue
			}
			now := time.Now()
			if now.Sub(last[j.ID]) >= interval {
				emit(j)
				last[j.ID] = now
				continue
			}
			pending[j.ID] = j
			if !armed {
				arm(now)
			}
		case <-timer.C:
			armed = false
			now := time.Now()
			for id, j := range pending {
				if now.Sub(last[id]) >= interval {
					emit(j)
					last[id] = now
					delete(pending, id)
				}
			}
			// Forget jobs that are quiet again, so the map stays small.
			for id, t := range last {
				if _, held := pending[id]; !held && now.Sub(t) >= interval {
					delete(last, id)
				}
			}
			if len(pending) > 0 {
				arm(now)
			}
		}
	}
}

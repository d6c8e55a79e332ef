package tray

import (
	"sync"
	"sync/atomic"
	"time"

	"ferry/backend/bits"
	"ferry/backend/engine"
)

// trayRefresh bounds tray updates to about one a second: progress events
// come much faster, and every update is a round of messages to the panel
// (D-Bus signals on Linux, Shell_NotifyIcon on Windows).
const trayRefresh = time.Second

// follow applies events to a tray model and hands render a summary at most
// once per trayRefresh, until stop is closed; while bytes move it also
// renders once per trayRefresh without events, from its own arithmetic, so
// that the shown rate falls when a transfer stalls. It never asks the
// engine for anything after the first snapshot (jobs, which may be nil).
func follow(stop <-chan struct{}, jobs func() []bits.JobInfo, events <-chan engine.Event, render func(traySummary)) {
	m := newTrayModel()
	now := time.Now()
	if jobs != nil {
		for _, j := range jobs() {
			m.set(j, now)
		}
	}
	s := m.summary(now)
	render(s)
	last := now

	timer := time.NewTimer(trayRefresh)
	defer timer.Stop()
	armed := s.busy()
	if !armed {
		timer.Stop()
	}
	for {
		select {
		case <-stop:
			return
		case ev, ok := <-events:
			if !ok {
				events = nil // the engine is gone; keep serving the menu
				continue
			}
			now := time.Now()
			m.apply(ev, now)
			if !armed {
				timer.Reset(max(0, last.Add(trayRefresh).Sub(now)))
				armed = true
			}
		case <-timer.C:
			now := time.Now()
			s := m.summary(now)
			render(s)
			last = now
			armed = s.busy()
			if armed {
				timer.Reset(trayRefresh)
			}
		}
	}
}

// lifecycle is what the trays of every platform share: whether a panel or
// taskbar shows the icon, and the goroutines that Stop ends.
type lifecycle struct {
	available atomic.Bool
	stop      chan struct{}
	wg        sync.WaitGroup
	stopOnce  sync.Once
}

func newLifecycle() lifecycle { return lifecycle{stop: make(chan struct{})} }

// spawn runs f on a goroutine that shutdown waits for; f returns once stop is
// closed.
func (l *lifecycle) spawn(f func()) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
}

// shutdown, once: the icon counts as gone, the goroutines end, then
// release (the platform's teardown) runs.
func (l *lifecycle) shutdown(release func()) {
	l.stopOnce.Do(func() {
		l.available.Store(false)
		close(l.stop)
		l.wg.Wait()
		release()
	})
}

package main

import (
	"context"
	"sync"
	"time"

	"ferry/backend/bits"

	"github.com/wailsapp/wails/v2/pkg/runtime"
)

// JobSource is what the window needs from the engine: a snapshot of the
// caller's jobs and a stream of changes. The desktop entry point adapts the
// engine to it, so that this file never depends on the engine's internals.
// Jobs may be called from several goroutines at once (one per JS call).
type JobSource interface {
	// Jobs returns the jobs as the list command shows them.
	Jobs() []bits.JobInfo
	// Changes streams the new state of each job that changed, including its
	// last state when it becomes ACKNOWLEDGED or CANCELLED (the UI then drops
	// it). The returned func ends the subscription; the channel may be closed
	// by then or left open.
	Changes() (<-chan bits.JobInfo, func())
}

// eventEmitter is the part of the Wails runtime that App uses. Wails'
// runtime.* functions call log.Fatalf outside a Wails context, so tests
// replace it with a fake.
type eventEmitter interface {
	Emit(name string, data any)
}

type wailsEmitter struct{ ctx context.Context }

func (w wailsEmitter) Emit(name string, data any) { runtime.EventsEmit(w.ctx, name, data) }

// jobEvent is the Wails event that carries one job's new state to the UI.
const jobEvent = "job"

// minEmitInterval bounds UI updates to about four a second per job: progress
// arrives far faster than anyone can read it, and a thousand idle jobs must
// cost nothing.
const minEmitInterval = 250 * time.Millisecond

// App is the Wails-bound adapter between the window and the engine. Its
// exported methods become window.go.main.App.* in the frontend.
type App struct {
	open func() (JobSource, func(), error)

	startOnce sync.Once
	ready     chan struct{} // closed once open has returned
	src       JobSource
	err       error
	stop      func()
}

// NewApp returns an App that opens its JobSource when the window starts, not
// before: `wails build` runs the binary to generate bindings, and that run
// must not take the lock or open the database.
func NewApp(open func() (JobSource, func(), error)) *App {
	return &App{open: open, ready: make(chan struct{})}
}

// startup is Wails' OnStartup hook (it runs off the main thread).
func (a *App) startup(ctx context.Context) { a.start(ctx, wailsEmitter{ctx}) }

// shutdown is Wails' OnShutdown hook.
func (a *App) shutdown(context.Context) { a.close() }

// start opens the source and forwards its changes to em until close.
func (a *App) start(ctx context.Context, em eventEmitter) {
	a.startOnce.Do(func() {
		defer close(a.ready)
		src, closeSrc, err := a.open()
		if err != nil {
			a.err = err
			return
		}
		changes, unsubscribe := src.Changes()
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			coalesce(ctx, changes, minEmitInterval, func(j bits.JobInfo) { em.Emit(jobEvent, j) })
		}()
		a.src = src
		a.stop = sync.OnceFunc(func() {
			cancel()
			unsubscribe()
			<-done
			if closeSrc != nil {
				closeSrc()
			}
		})
	})
}

// close stops forwarding and closes the source; it does nothing if start never ran.
func (a *App) close() {
	started := true
	a.startOnce.Do(func() { started = false; close(a.ready) })
	if !started {
		return
	}
	<-a.ready
	if a.stop != nil {
		a.stop()
	}
}

// ListJobs returns the jobs to show; it waits for the engine if the window
// asks before startup has finished, and fails with the reason if the engine
// could not be opened.
func (a *App) ListJobs() ([]bits.JobInfo, error) {
	<-a.ready
	if a.err != nil {
		return nil, a.err
	}
	if a.src == nil {
		return []bits.JobInfo{}, nil
	}
	jobs := a.src.Jobs()
	if jobs == nil {
		jobs = []bits.JobInfo{} // JSON [] rather than null
	}
	return jobs, nil
}

// coalesce calls emit for the changes it receives, at most once per interval
// per job. A change that arrives too soon is held, replaced by newer ones, and
// sent when its interval is up, so the newest state of every job always
// reaches the UI. It returns when ctx ends or changes is closed.
func coalesce(ctx context.Context, changes <-chan bits.JobInfo, interval time.Duration, emit func(bits.JobInfo)) {
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

package service

import "ferry/backend/desktop"

// notifyDesktop shows desktop notifications for the headless engine's jobs
// (a job transferred or failed, as its notify flags say), as the desktop app
// does for its own: `ferry service` in a desktop session notifies too. Without
// a session bus or a notification server it logs why, once, and does
// nothing. The returned func stops it; call it before Stop.
func (r *Running) notifyDesktop() func() {
	n, err := desktop.NewNotifier(nil)
	if err != nil {
		r.log.Info("no desktop notifications", "err", err)
		return func() {}
	}
	evs, unsubscribe := r.mgr.Watch() // survives falling behind (engine.Watch)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Run(evs)
	}()
	return func() {
		unsubscribe()
		_ = n.Close()
		<-done
	}
}

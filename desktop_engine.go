package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ferry/backend/api"
	"ferry/backend/home"
	"ferry/backend/ops"
	"ferry/backend/service"
)

// takeoverTimeout bounds how long the window waits for a headless engine it
// asked to stop.
const takeoverTimeout = 15 * time.Second

// openDesktopEngine runs FERRY_HOME's engine inside the desktop app. A
// headless `ferry service` already running is asked to stop cleanly first
// (its transfers pause at a saved offset), then this process takes over.
// It is called from Wails' OnStartup, never before wails.Run: `wails build`
// runs this binary to generate the JS bindings, and that run must not take
// the lock, open the database or touch the display.
func openDesktopEngine() (*Engine, error) {
	service.OneProcessor() // as the headless engine: service.OneProcessor says why
	h, err := home.Resolve()
	if err != nil {
		return nil, err
	}
	r, err := service.Start(h)
	var locked *home.LockedError
	if errors.As(err, &locked) {
		if err := stopHeadless(h); err != nil {
			return nil, err
		}
		r, err = startWhenFree(h)
	}
	if err != nil {
		return nil, err
	}
	return &Engine{Manager: r.Manager(), Stop: func() { _ = r.Stop() },
		ShutdownRequested: r.ShutdownRequested(), Log: r.Logger(), Home: h.Dir}, nil
}

// stopHeadless asks the engine that holds the lock to shut down.
func stopHeadless(h home.Home) error {
	c := api.NewClient(h.Socket())
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Call(ctx, "shutdown", ops.Request{}); err != nil {
		return fmt.Errorf("another Ferry engine runs for %s and did not stop: %w", h.Dir, err)
	}
	return nil
}

func startWhenFree(h home.Home) (*service.Running, error) {
	deadline := time.Now().Add(takeoverTimeout)
	for {
		r, err := service.Start(h)
		var locked *home.LockedError
		if err == nil || !errors.As(err, &locked) || time.Now().After(deadline) {
			return r, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

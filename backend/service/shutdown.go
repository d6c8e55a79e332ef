package service

import (
	"context"
	"time"

	"ferry/backend/api"
	"ferry/backend/bits"
	"ferry/backend/home"
	"ferry/backend/ops"
)

// Shutdown asks the engine of h (headless or a desktop window) to stop and
// waits until it has let go of FERRY_HOME, so that another engine may start
// at once. It reports whether an engine was running. The desktop app uses
// it to take over from a headless engine.
func Shutdown(ctx context.Context, h home.Home) (bool, error) {
	cl := api.NewClient(h.Socket())
	defer cl.Close()
	if _, err := cl.Hello(ctx); err != nil {
		if ce, ok := api.AsConnectError(err); ok && ce.NoEngine() {
			return false, nil
		}
		return false, err
	}
	if _, err := cl.Call(ctx, "shutdown", ops.Request{}); err != nil {
		return true, err
	}
	return true, WaitStopped(ctx, h)
}

// WaitStopped waits until no engine holds FERRY_HOME's lock.
func WaitStopped(ctx context.Context, h home.Home) error {
	for {
		if _, running := h.Running(); !running {
			return nil
		}
		select {
		case <-ctx.Done():
			return bits.Errorf(bits.ERROR_TIMEOUT, "the engine for FERRY_HOME %s has not stopped yet", h.Dir)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

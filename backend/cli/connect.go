package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"time"

	"ferry/backend/api"
	"ferry/backend/bits"
	"ferry/backend/home"
	"ferry/backend/ops"
)

// autostartTimeout bounds how long a command waits for an engine it started.
const autostartTimeout = 20 * time.Second

// connect returns a client of the engine, starting `ferry service` in the
// background when none answers (unless --no-autostart).
func (c *cli) connect(ctx context.Context) (*api.Client, error) {
	if c.api != nil {
		return c.api, nil
	}
	h, err := resolveHome()
	if err != nil {
		return nil, err
	}
	cl := api.NewClient(h.Socket())
	_, err = cl.Hello(ctx)
	if err == nil {
		c.api = cl
		return cl, nil
	}
	if err := connectFailure(h, err); err != nil {
		if !isNoEngine(err) {
			return nil, err
		}
		if c.noAutostart {
			// An engine that holds the lock is starting: give it a moment.
			if _, running := h.Running(); !running || waitAnswer(ctx, cl) != nil {
				return nil, err
			}
			c.api = cl
			return cl, nil
		}
	}
	if err := autostart(ctx, h, cl); err != nil {
		return nil, err
	}
	c.api = cl
	return cl, nil
}

// call runs one operation for a command that makes a call or two and exits.
// It sends the call at once, on a serial client (api.NewSerialClient), not
// after a hello: when nothing listens the dial fails before anything is
// sent, and only then does it connect the long way (which may start an
// engine) and send the call again, so no call ever reaches an engine twice.
func (c *cli) call(ctx context.Context, op string, req ops.Request) (json.RawMessage, *api.Client, error) {
	if c.api == nil {
		h, err := resolveHome()
		if err != nil {
			return nil, nil, err
		}
		cl := api.NewSerialClient(h.Socket())
		raw, err := cl.Call(ctx, op, req)
		if _, dialFailed := api.AsConnectError(err); !dialFailed {
			c.api = cl
			return raw, cl, err
		}
		cl.Close()
	}
	cl, err := c.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	raw, err := cl.Call(ctx, op, req)
	return raw, cl, err
}

// callBody is call for a result read as it arrives (api.Client.CallBody).
func (c *cli) callBody(ctx context.Context, op string, req ops.Request) (io.ReadCloser, *api.Client, error) {
	if c.api == nil {
		h, err := resolveHome()
		if err != nil {
			return nil, nil, err
		}
		cl := api.NewSerialClient(h.Socket())
		body, err := cl.CallBody(ctx, op, req)
		if _, dialFailed := api.AsConnectError(err); !dialFailed {
			c.api = cl
			return body, cl, err
		}
		cl.Close()
	}
	cl, err := c.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	body, err := cl.CallBody(ctx, op, req)
	return body, cl, err
}

// errNoEngine marks "nothing listens" among connect errors.
var errNoEngine = errors.New("no engine")

type noEngineError struct{ err *bits.Error }

func (e noEngineError) Error() string   { return e.err.Error() }
func (e noEngineError) Unwrap() []error { return []error{e.err, errNoEngine} }

func isNoEngine(err error) bool { return errors.Is(err, errNoEngine) }

// connectFailure turns a failed hello into the error a user should see.
func connectFailure(h home.Home, err error) error {
	ce, ok := api.AsConnectError(err)
	switch {
	case !ok:
		return err // the engine answered with an error (e.g. refused the caller)
	case ce.Denied():
		return bits.Errorf(bits.E_ACCESSDENIED, "the engine's socket %s is not yours: %v (each user runs their own engine in their own FERRY_HOME)", h.Socket(), ce.Err)
	case ce.NoEngine():
		return noEngineError{err: bits.Errorf(bits.ERROR_SERVICE_NOT_ACTIVE, "no engine is running for FERRY_HOME %s; start one with 'ferry service' (or leave out --no-autostart)", h.Dir)}
	}
	return bits.Errorf(bits.E_FAIL, "%v", err)
}

// autostart runs `ferry service` detached from this terminal, in its own
// session, with its output going to the engine's log, and waits until it
// answers. Commands starting at once take turns (FERRY_HOME's start lock):
// the first starts the engine, the others find it answering.
func autostart(ctx context.Context, h home.Home, cl *api.Client) error {
	if err := h.Ensure(); err != nil {
		return bits.Errorf(bits.E_ACCESSDENIED, "cannot start an engine: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return bits.Errorf(bits.E_FAIL, "cannot start an engine: %v", err)
	}
	deadline := time.Now().Add(autostartTimeout)
	lctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	start, err := h.StartLock(lctx)
	if err != nil {
		return bits.Errorf(bits.ERROR_SERVICE_NOT_ACTIVE, "cannot start an engine: %v", err)
	}
	defer start.Release()
	var exited chan struct{}
	spawns := 0
	for {
		_, err := cl.Hello(ctx)
		if err == nil {
			return nil
		}
		if cerr := connectFailure(h, err); !isNoEngine(cerr) {
			return cerr
		}
		alive := exited != nil
		if alive {
			select {
			case <-exited:
				alive = false
			default:
			}
		}
		// Spawn when nobody is starting: no child of ours and no lock holder
		// (probed only then: the probe itself takes the lock for a moment).
		if !alive {
			if _, running := h.Running(); !running {
				if spawns == 3 {
					return bits.Errorf(bits.ERROR_SERVICE_NOT_ACTIVE, "the engine for FERRY_HOME %s did not start; see %s", h.Dir, h.LogFile())
				}
				spawns++
				if exited, err = spawnService(exe, h); err != nil {
					return err
				}
			}
		}
		if time.Now().After(deadline) {
			return bits.Errorf(bits.ERROR_SERVICE_NOT_ACTIVE, "the engine for FERRY_HOME %s did not answer within %s; see %s", h.Dir, autostartTimeout, h.LogFile())
		}
		select {
		case <-ctx.Done():
			return bits.Errorf(bits.ERROR_TIMEOUT, "gave up waiting for the engine: %v", ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// waitAnswer waits a few seconds for a starting engine to answer.
func waitAnswer(ctx context.Context, cl *api.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		_, err := cl.Hello(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func spawnService(exe string, h home.Home) (chan struct{}, error) {
	logf, err := os.OpenFile(h.LogFile(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, bits.Errorf(bits.E_FAIL, "cannot start an engine: %v", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, "service")
	cmd.Env = append(os.Environ(), home.EnvVar+"="+h.Dir)
	cmd.Dir = h.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err != nil {
		return nil, bits.Errorf(bits.E_FAIL, "cannot start an engine: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	return exited, nil
}

// connectFor connects for a command that then runs as long as ctx: only the
// connection (and any autostart) is bounded by callTimeout.
func (c *cli) connectFor(ctx context.Context) (*api.Client, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return c.connect(cctx)
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"ferry/backend/api"
	"ferry/backend/api/wire"
	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/ops"
)

// interruptible returns a context that ends on SIGINT or SIGTERM.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// jobWatch follows one job: its events as they come, plus a slow poll in
// case the engine coalesced or the stream missed something.
type jobWatch struct {
	ctx     context.Context
	cl      *api.Client
	id      string
	updates chan bits.JobInfo
	ended   chan error
	done    chan struct{}

	mu     sync.Mutex // guards stream: follow replaces it after an overflow
	stream *api.EventStream
}

// watchJob subscribes to events (before the caller reads the job's state,
// so that no change falls between the two).
func watchJob(ctx context.Context, cl *api.Client) (*jobWatch, error) {
	stream, err := cl.Events(ctx)
	if err != nil {
		return nil, err
	}
	return &jobWatch{ctx: ctx, cl: cl, stream: stream, updates: make(chan bits.JobInfo, 64), ended: make(chan error, 1), done: make(chan struct{})}, nil
}

// follow starts delivering the events of job id. If the engine drops the
// stream for falling behind, it subscribes again and reads the job afresh.
func (w *jobWatch) follow(id string) {
	w.id = id
	go func() {
		for {
			w.mu.Lock()
			stream := w.stream
			w.mu.Unlock()
			ev, _, err := stream.Next()
			if err == nil && ev.Kind == engine.EventOverflow {
				ev.Job, err = w.resubscribe()
			}
			if err != nil {
				w.ended <- err
				return
			}
			if ev.Job.ID != id {
				continue
			}
			select {
			case w.updates <- ev.Job:
			case <-w.done:
				return
			}
		}
	}()
}

// resubscribe replaces the stream and returns the job as it is now.
func (w *jobWatch) resubscribe() (bits.JobInfo, error) {
	stream, err := w.cl.Events(w.ctx)
	if err != nil {
		return bits.JobInfo{}, err
	}
	w.mu.Lock()
	select {
	case <-w.done:
		w.mu.Unlock()
		stream.Close()
		return bits.JobInfo{}, errors.New("closed")
	default:
	}
	old := w.stream
	w.stream = stream
	w.mu.Unlock()
	old.Close()
	return w.cl.Info(w.ctx, w.id)
}

func (w *jobWatch) close() {
	w.mu.Lock()
	close(w.done)
	stream := w.stream
	w.mu.Unlock()
	stream.Close()
}

func finalOrDone(s bits.JobState) bool {
	switch s {
	case bits.StateTransferred, bits.StateError, bits.StateAcknowledged, bits.StateCancelled:
		return true
	}
	return false
}

func engineStopped(err error) error {
	if errors.Is(err, api.ErrStreamEnded) {
		return bits.Errorf(bits.ERROR_SERVICE_NOT_ACTIVE, "the engine stopped; the job is kept and continues when an engine runs again")
	}
	return bits.Errorf(bits.ERROR_SERVICE_NOT_ACTIVE, "lost the engine: %v", err)
}

func runWait(c *cli, r ops.Request) int {
	var timeout <-chan time.Time
	if s := r.Flag("timeout"); s != "" {
		d, err := parseSecondsFlag("timeout", s)
		if err != nil {
			return c.fail(err)
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	ctx, stop := interruptible()
	defer stop()
	cl, err := c.connectFor(ctx)
	if err != nil {
		return c.fail(err)
	}
	w, err := watchJob(ctx, cl)
	if err != nil {
		return c.fail(err)
	}
	defer w.close()
	in, err := cl.Info(ctx, r.Args[0])
	if err != nil {
		return c.fail(err)
	}
	w.follow(in.ID)
	poll := time.NewTicker(2 * time.Second)
	defer poll.Stop()
	for !finalOrDone(in.State) {
		select {
		case in = <-w.updates:
		case <-poll.C:
			next, err := cl.Info(ctx, in.ID)
			if err != nil {
				return c.fail(err)
			}
			in = next
		case err := <-w.ended:
			return c.fail(engineStopped(err))
		case <-timeout:
			c.printState(ctx, cl, in)
			return c.fail(bits.Errorf(bits.ERROR_TIMEOUT, "job %s is still %s after --timeout %s s", in.ID, in.State, r.Flag("timeout")))
		case <-ctx.Done():
			return c.fail(bits.Errorf(bits.ERROR_CANCELLED, "interrupted while waiting for job %s (it goes on)", in.ID))
		}
	}
	c.printState(ctx, cl, in)
	switch in.State {
	case bits.StateTransferred, bits.StateAcknowledged:
		return exitOK
	case bits.StateError:
		if in.Error != nil {
			return c.fail(bits.Errorf(in.Error.Code, "job %s is in ERROR: %s", in.ID, in.Error.Description))
		}
		return c.fail(bits.Errorf(bits.E_FAIL, "job %s is in ERROR", in.ID))
	}
	return c.fail(bits.Errorf(bits.ERROR_CANCELLED, "job %s was cancelled", in.ID))
}

// printState prints the state, or with --json the whole job (fetched anew:
// events carry no file list).
func (c *cli) printState(ctx context.Context, cl *api.Client, in bits.JobInfo) {
	if !c.json {
		fmt.Fprintln(c.stdout, in.State)
		return
	}
	if fresh, err := cl.Info(ctx, in.ID); err == nil {
		in = fresh
	}
	if b, err := marshalJSON(in); err == nil {
		_ = c.printJSON(b)
	}
}

func runMonitor(c *cli, r ops.Request) int {
	refresh := 5 * time.Second
	if s := r.Flag("refresh"); s != "" {
		d, err := parseSecondsFlag("refresh", s)
		if err != nil {
			return c.fail(err)
		}
		refresh = d
	}
	ctx, stop := interruptible()
	defer stop()
	cl, err := c.connectFor(ctx)
	if err != nil {
		return c.fail(err)
	}
	req := ops.Request{}
	if r.Has("allusers") {
		req.Flags = map[string]string{"allusers": "true"}
	}
	if c.json || !c.stdoutTTY {
		return c.monitorLines(ctx, cl, req)
	}
	return c.monitorScreen(ctx, cl, req, refresh)
}

// errResync says that the engine dropped this monitor for falling behind
// (an overflow line): subscribe again and start from a fresh snapshot.
var errResync = errors.New("fell behind the engine's events")

func (c *cli) noteResync() {
	fmt.Fprintln(c.stderr, "ferry: note: fell behind the engine's events; listing the jobs again")
}

// monitorLines prints one line per event: the engine's JSON with --json,
// else a plain summary. It starts with one "snapshot" line per job (listed
// after subscribing, so no change falls between), and starts over from a
// new snapshot whenever the engine drops it for falling behind.
func (c *cli) monitorLines(ctx context.Context, cl *api.Client, req ops.Request) int {
	for {
		err := c.monitorOnce(ctx, cl, req)
		if ctx.Err() != nil {
			return exitOK
		}
		if !errors.Is(err, errResync) {
			if _, ok := err.(writeError); ok {
				return exitFail // stdout is gone (a closed pipe): nobody to tell
			}
			return c.fail(err)
		}
		c.noteResync()
	}
}

// writeError is a failed write to stdout.
type writeError struct{ error }

func (c *cli) monitorOnce(ctx context.Context, cl *api.Client, req ops.Request) error {
	stream, err := cl.Events(ctx)
	if err != nil {
		return err
	}
	defer stream.Close()
	var jobs []bits.JobInfo
	if err := cl.CallInto(ctx, "list", req, &jobs); err != nil {
		return err
	}
	for _, j := range jobs {
		ev := engine.Event{Kind: engine.EventSnapshot, Job: j, FileIndex: -1}
		raw, err := wire.EventLine(ev)
		if err != nil {
			return err
		}
		if err := c.printEvent(ev, raw); err != nil {
			return writeError{err}
		}
	}
	for {
		ev, raw, err := stream.Next()
		if err != nil {
			return engineStopped(err)
		}
		if ev.Kind == engine.EventOverflow {
			return errResync
		}
		if err := c.printEvent(ev, append(raw, '\n')); err != nil {
			return writeError{err}
		}
	}
}

// printEvent prints one event: raw (one JSON line) with --json, else a
// summary line.
func (c *cli) printEvent(ev engine.Event, raw []byte) error {
	if c.json {
		_, err := c.stdout.Write(raw)
		return err
	}
	j := ev.Job
	_, err := fmt.Fprintf(c.stdout, "%s  %-15s %s  %-15s %s  %s\n", time.Now().UTC().Format(time.RFC3339), ev.Kind, j.ID, j.State,
		ops.ProgressText(j.Progress), ops.Esc(j.DisplayName))
	return err
}

// follow signals changed for every event of the engine, resubscribing when
// the engine drops the subscription for falling behind, until the stream
// ends (the error goes to ended) or ctx ends.
func (c *cli) follow(ctx context.Context, cl *api.Client, stream *api.EventStream, changed chan<- struct{}, ended chan<- error) {
	defer func() { stream.Close() }()
	for {
		ev, _, err := stream.Next()
		if err == nil && ev.Kind == engine.EventOverflow {
			stream.Close()
			c.noteResync()
			stream, err = cl.Events(ctx)
			if err != nil {
				ended <- err
				return
			}
		}
		if err != nil {
			ended <- engineStopped(err)
			return
		}
		select {
		case changed <- struct{}{}:
		default:
		}
	}
}

// monitorScreen redraws the job table on the terminal: on every change
// (at most four times a second) and every refresh interval.
func (c *cli) monitorScreen(ctx context.Context, cl *api.Client, req ops.Request, refresh time.Duration) int {
	stream, err := cl.Events(ctx)
	if err != nil {
		return c.fail(err)
	}
	changed := make(chan struct{}, 1)
	ended := make(chan error, 1)
	go c.follow(ctx, cl, stream, changed, ended)
	tick := time.NewTicker(refresh)
	defer tick.Stop()
	for {
		var jobs []bits.JobInfo
		if err := cl.CallInto(ctx, "list", req, &jobs); err != nil {
			if ctx.Err() != nil {
				return exitOK
			}
			return c.fail(err)
		}
		fmt.Fprint(c.stdout, "\x1b[H\x1b[2J")
		fmt.Fprintf(c.stdout, "Ferry jobs at %s (refresh %s; Ctrl-C to stop)\n\n", time.Now().Format("15:04:05"), refresh)
		if len(jobs) == 0 {
			fmt.Fprintln(c.stdout, "No jobs.")
		} else {
			_ = ops.WriteJobTable(c.stdout, jobs, false)
		}
		select {
		case <-ctx.Done():
			return exitOK
		case err := <-ended:
			if ctx.Err() != nil {
				return exitOK
			}
			return c.fail(err)
		case <-tick.C:
		case <-changed:
			select {
			case <-time.After(250 * time.Millisecond):
			case <-ctx.Done():
				return exitOK
			}
		}
	}
}

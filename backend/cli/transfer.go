package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"ferry/backend/api"
	"ferry/backend/bits"
	"ferry/backend/ops"
)

// transferPoll re-reads the job now and then: events are coalesced, and the
// progress view wants a fresh rate even when nothing is announced.
const transferPoll = time.Second

// runTransfer is Start-BitsTransfer: create, add, resume, show progress and
// complete — or, on ERROR or Ctrl-C, cancel (which removes temporary files).
func runTransfer(c *cli, r ops.Request) int {
	pairs := r.Args
	name := r.Flag("name")
	if len(pairs)%2 == 1 {
		// bitsadmin: /transfer NAME [options] REMOTE LOCAL…
		if name != "" {
			return c.usage(&usageError{cmd: c.cmd, msg: "give REMOTE LOCAL pairs"})
		}
		name, pairs = pairs[0], pairs[1:]
	}
	if len(pairs) == 0 {
		return c.usage(&usageError{cmd: c.cmd, msg: "give at least one REMOTE LOCAL pair"})
	}
	if name == "" {
		name = "ferry transfer"
	}
	prio := "foreground"
	if p := r.Flag("priority"); p != "" {
		if _, err := bits.ParsePriority(p); err != nil {
			return c.fail(err)
		}
		prio = p
	}
	typeFlag := "download"
	if r.Has("upload") {
		if r.Has("download") {
			return c.fail(bits.Errorf(bits.E_INVALIDARG, "give only one of --download and --upload"))
		}
		typeFlag = "upload"
	}
	for i := 1; i < len(pairs); i += 2 {
		abs, err := filepath.Abs(pairs[i])
		if err != nil {
			return c.fail(bits.Errorf(bits.E_INVALIDARG, "%s: %v", pairs[i], err))
		}
		pairs[i] = abs
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

	var in bits.JobInfo
	if err := cl.CallInto(ctx, "create", ops.Request{Args: []string{name}, Flags: map[string]string{typeFlag: "true"}}, &in); err != nil {
		return c.fail(err)
	}
	id := in.ID
	w.follow(id)
	type step struct {
		op   string
		args []string
	}
	setup := []step{{"setpriority", []string{id, prio}}}
	if r.Has("dynamic") {
		setup = append(setup, step{"setdynamic", []string{id, "true"}})
	}
	for i := 0; i < len(pairs); i += 2 {
		setup = append(setup, step{"addfile", []string{id, pairs[i], pairs[i+1]}})
	}
	setup = append(setup, step{"resume", []string{id}})
	for _, s := range setup {
		if _, err := cl.Call(ctx, s.op, ops.Request{Args: s.args}); err != nil {
			cancelJob(cl, id)
			if ctx.Err() != nil {
				return c.fail(bits.Errorf(bits.ERROR_CANCELLED, "interrupted; job %s cancelled", id))
			}
			return c.fail(err)
		}
	}

	if next, err := cl.Info(ctx, id); err == nil {
		in = next // the view starts from the resumed job, files and all
		// Events of the set-up steps are older than this snapshot.
		for drained := false; !drained; {
			select {
			case <-w.updates:
			default:
				drained = true
			}
		}
	}
	var view progressView
	switch {
	case c.json:
		view = nopView{}
	case c.stdoutTTY:
		view = newBarView(c.stdout)
	default:
		view = &lineView{w: c.stdout}
	}
	poll := time.NewTicker(transferPoll)
	defer poll.Stop()
	for {
		view.update(in)
		switch in.State {
		case bits.StateTransferred:
			res, err := cl.Call(context.Background(), "complete", ops.Request{Args: []string{id}})
			if err != nil {
				view.finish(false)
				return c.fail(err)
			}
			view.finish(true)
			c.printNote(res)
			return c.transferDone(cl, id, in)
		case bits.StateAcknowledged:
			view.finish(true)
			return c.transferDone(cl, id, in)
		case bits.StateError:
			view.finish(false)
			cancelJob(cl, id)
			if in.Error != nil {
				return c.fail(bits.Errorf(in.Error.Code, "%s; job %s cancelled", errorSentence(in.Error), id))
			}
			return c.fail(bits.Errorf(bits.E_FAIL, "the transfer failed; job %s cancelled", id))
		case bits.StateCancelled:
			view.finish(false)
			return c.fail(bits.Errorf(bits.ERROR_CANCELLED, "job %s was cancelled", id))
		}
		select {
		case in = <-w.updates:
		case <-poll.C:
			next, err := cl.Info(ctx, id)
			if err != nil {
				if ctx.Err() == nil {
					view.finish(false)
					return c.fail(err)
				}
				continue
			}
			in = next
		case err := <-w.ended:
			view.finish(false)
			if ctx.Err() == nil {
				return c.fail(engineStopped(err))
			}
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			view.finish(false)
			cancelJob(cl, id)
			return c.fail(bits.Errorf(bits.ERROR_CANCELLED, "interrupted; job %s cancelled and its temporary files removed", id))
		}
	}
}

// errorSentence is a job error in words, naming the file it concerns.
func errorSentence(e *bits.ErrorInfo) string {
	s := ops.Esc(e.Description)
	if e.File != nil {
		s += " (" + ops.Esc(e.File.RemoteName) + ")"
	}
	return s
}

// cancelJob cancels with a fresh context: the command's own may be over.
func cancelJob(cl *api.Client, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = cl.Call(ctx, "cancel", ops.Request{Args: []string{id}})
}

func (c *cli) transferDone(cl *api.Client, id string, in bits.JobInfo) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if fresh, err := cl.Info(ctx, id); err == nil {
		in = fresh
	}
	if c.json {
		b, err := marshalJSON(in)
		if err == nil {
			err = c.printJSON(b)
		}
		if err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	fmt.Fprintf(c.stdout, "Transferred %d file%s, %s (job %s).\n", in.Progress.FilesTotal, plural(in.Progress.FilesTotal), ops.Size(in.Progress.BytesTransferred), id)
	return exitOK
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// progressView shows a transfer's progress.
type progressView interface {
	update(in bits.JobInfo)
	finish(ok bool)
}

type nopView struct{}

func (nopView) update(bits.JobInfo) {}
func (nopView) finish(bool)         {}

// fileLabel is "file 1 of 2" for the file being transferred.
func fileLabel(p bits.JobProgress) string {
	n := p.FilesTransferred + 1
	if n > p.FilesTotal {
		n = p.FilesTotal
	}
	return fmt.Sprintf("file %d of %d", n, p.FilesTotal)
}

// lineView prints one plain line per change (not a terminal): on every new
// state or file, and at most once a second for bytes alone.
type lineView struct {
	w         io.Writer
	last      bits.JobInfo
	lastAt    time.Time
	started   bool
	rateBytes int64
	rateAt    time.Time
	rate      float64
}

func (v *lineView) update(in bits.JobInfo) {
	now := time.Now()
	p := in.Progress
	if v.rateAt.IsZero() {
		v.rateAt, v.rateBytes = now, p.BytesTransferred
	} else if dt := now.Sub(v.rateAt).Seconds(); dt >= 0.5 {
		v.rate = float64(p.BytesTransferred-v.rateBytes) / dt
		v.rateAt, v.rateBytes = now, p.BytesTransferred
	}
	stateChange := !v.started || in.State != v.last.State || p.FilesTransferred != v.last.Progress.FilesTransferred
	byteChange := p.BytesTransferred != v.last.Progress.BytesTransferred && now.Sub(v.lastAt) >= time.Second
	if !stateChange && !byteChange {
		return
	}
	v.started, v.last, v.lastAt = true, in, now
	line := fmt.Sprintf("%-15s %s  %s", in.State, fileLabel(p), ops.ProgressText(p))
	if v.rate > 0 && in.State == bits.StateTransferring {
		line += fmt.Sprintf("  %s/s", ops.Size(int64(v.rate)))
		if p.BytesTotal > 0 {
			eta := time.Duration(float64(p.BytesTotal-p.BytesTransferred) / v.rate * float64(time.Second))
			line += "  ETA " + eta.Round(time.Second).String()
		}
	}
	if in.State == bits.StateTransientError && in.Error != nil {
		line += "  (" + in.Error.Name + ": " + ops.Esc(in.Error.Description) + "; will retry)"
	}
	fmt.Fprintln(v.w, line)
}

func (v *lineView) finish(bool) {}

// barView is a progress bar on a terminal: bytes, rate, ETA, file n of m.
type barView struct {
	p      *mpb.Progress
	bar    *mpb.Bar
	mu     sync.Mutex
	label  string
	lastAt time.Time
	done   bool
}

func newBarView(w io.Writer) *barView {
	v := &barView{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(32), mpb.WithRefreshRate(200*time.Millisecond))}
	v.bar = v.p.AddBar(0,
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			v.mu.Lock()
			defer v.mu.Unlock()
			return v.label
		}, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(
			decor.CountersKibiByte("% .1f / % .1f"),
			decor.Name("  "),
			decor.EwmaSpeed(decor.SizeB1024(0), "% .1f", 30),
			decor.Name("  ETA "),
			decor.EwmaETA(decor.ET_STYLE_GO, 30),
		),
	)
	v.lastAt = time.Now()
	return v
}

func (v *barView) update(in bits.JobInfo) {
	if v.done {
		return
	}
	p := in.Progress
	label := fmt.Sprintf("%s %s", in.State, fileLabel(p))
	if in.State == bits.StateTransientError && in.Error != nil {
		label = fmt.Sprintf("retrying after %s, %s", in.Error.Name, fileLabel(p))
	}
	v.mu.Lock()
	v.label = label
	v.mu.Unlock()
	if p.BytesTotal >= 0 {
		v.bar.SetTotal(p.BytesTotal, false)
	}
	now := time.Now()
	v.bar.EwmaSetCurrent(p.BytesTransferred, now.Sub(v.lastAt))
	v.lastAt = now
}

func (v *barView) finish(ok bool) {
	if v.done {
		return
	}
	v.done = true
	if ok {
		v.bar.SetTotal(-1, true)
	} else {
		v.bar.Abort(false)
	}
	v.p.Wait()
}

package engine

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"ferry/backend/bits"
)

// notifyTimeout bounds one run of a notify command line.
const notifyTimeout = 5 * time.Minute

// notifyPending reports whether e's notify command line still has to run
// for its TRANSFERRED or ERROR event (caller holds mu).
func (m *Manager) notifyPending(e *entry) bool {
	j := e.job
	if j.NotifyCmdLine == nil || j.NotifyEpoch == j.NotifyDoneEpoch {
		return false
	}
	switch j.State {
	case bits.StateTransferred:
		return j.NotifyFlags.Wants(bits.NotifyJobTransferred)
	case bits.StateError:
		return j.NotifyFlags.Wants(bits.NotifyJobError)
	}
	return false
}

// maybeNotify runs the job's notify command line for its TRANSFERRED or
// ERROR event if its flags ask for it and it has not yet exited 0 for this
// event; a failed run is retried after the minimum retry delay while the job
// stays in that state (the scheduler watches NotifyAttemptAt). Caller holds mu.
func (m *Manager) maybeNotify(e *entry) {
	j := e.job
	if !m.notifyPending(e) || e.notifying || m.closed || m.clk.Now().Before(j.NotifyAttemptAt) {
		return
	}
	cl := j.NotifyCmdLine
	args, err := SplitCommandLine(cl.Parameters)
	if err != nil {
		return // validated when set
	}
	// bitsadmin's convention is that the parameters start with the program
	// itself; a Unix user names only the arguments. Accept both.
	if len(args) > 0 && (args[0] == cl.Program || args[0] == filepath.Base(cl.Program)) {
		args = args[1:]
	}
	epoch, program := j.NotifyEpoch, cl.Program
	e.notifying = true
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(m.life, notifyTimeout)
		runErr := m.cfg.RunNotify(ctx, program, args)
		cancel()
		if runErr != nil {
			m.log.Warn("notify command line failed; will retry after the minimum retry delay", "job", j.ID, "err", runErr)
		}
		err := m.commit(e, func(c *change) error {
			if runErr == nil {
				if c.job.NotifyDoneEpoch >= epoch {
					c.noop = true
				}
				c.job.NotifyDoneEpoch = epoch
				return nil
			}
			c.job.NotifyAttemptAt = c.now.Add(time.Duration(c.job.MinRetryDelay) * time.Second)
			return nil
		})
		m.mu.Lock()
		e.notifying = false
		m.mu.Unlock()
		if err != nil {
			m.log.Warn("could not record the notify command line's outcome", "job", j.ID, "err", err)
		}
		m.wake()
	}()
}

// SplitCommandLine splits parameters into arguments: blanks separate them,
// double or single quotes group, and a backslash escapes a double quote or
// backslash inside double quotes. Nothing is expanded: no shell runs.
func SplitCommandLine(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg := false
	var quote rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote == '"' && c == '\\' && i+1 < len(rs) && (rs[i+1] == '"' || rs[i+1] == '\\'):
			i++
			cur.WriteRune(rs[i])
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(c)
		case c == '"' || c == '\'':
			quote, inArg = c, true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(c)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, bits.Errorf(bits.E_INVALIDARG, "the parameters have an unclosed %c quote", quote)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

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

// maybeNotify runs the job's notify command line for its TRANSFERRED or
// ERROR event if its flags ask for it and it has not yet exited 0 for this
// event; a failed run is retried after the minimum retry delay while the job
// stays in that state. It returns when the next attempt is due (zero: none).
// Caller holds mu.
func (m *Manager) maybeNotify(e *entry) time.Time {
	j := e.job
	cl := j.NotifyCmdLine
	if cl == nil || e.notifying || j.NotifyEpoch == j.NotifyDoneEpoch || m.closed {
		return timeZero
	}
	var bit bits.NotifyFlags
	switch j.State {
	case bits.StateTransferred:
		bit = bits.NotifyJobTransferred
	case bits.StateError:
		bit = bits.NotifyJobError
	default:
		return timeZero
	}
	if !j.NotifyFlags.Wants(bit) {
		return timeZero
	}
	if now := m.clk.Now(); now.Before(j.NotifyAttemptAt) {
		return j.NotifyAttemptAt
	}
	args, err := SplitCommandLine(cl.Parameters)
	if err != nil {
		return timeZero // validated when set
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
		err := m.cfg.RunNotify(ctx, program, args)
		cancel()
		m.mu.Lock()
		defer m.mu.Unlock()
		e.notifying = false
		if err == nil {
			if j.NotifyDoneEpoch < epoch {
				j.NotifyDoneEpoch = epoch
			}
			m.persistRow(e)
			return
		}
		m.log.Warn("notify command line failed; will retry after the minimum retry delay", "job", j.ID, "err", err)
		j.NotifyAttemptAt = m.clk.Now().Add(time.Duration(j.MinRetryDelay) * time.Second)
		m.persistRow(e)
		m.wake()
	}()
	return timeZero
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

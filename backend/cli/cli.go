// Package cli is Ferry's command line (shared/cli.md): bitsadmin's verbs,
// driven by the operations table of package ops and sent to the engine over
// the control API, plus the commands that run or watch the engine.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mattn/go-isatty"

	"ferry/backend/api"
	"ferry/backend/api/wire"
	"ferry/backend/bits"
	"ferry/backend/browser"
	"ferry/backend/home"
	"ferry/backend/ops"
	"ferry/backend/service"
)

// Exit codes of cli.md.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// callTimeout bounds one operation: the engine answers at once or is stuck.
const callTimeout = 60 * time.Second

// Main runs one command and returns the process exit code.
func Main(args []string) int {
	c := &cli{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		stdoutTTY: (isatty.IsTerminal(os.Stdout.Fd()) || isatty.IsCygwinTerminal(os.Stdout.Fd())) && termWidth(os.Stdout) > 0,
	}
	return c.main(args)
}

// cli is one invocation.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stdoutTTY      bool

	json        bool
	noAutostart bool

	cmd *command
	api *api.Client
}

// usageError is a wrong command line: exit 2 with a hint.
type usageError struct {
	cmd *command // nil: no command yet
	msg string
}

func (e *usageError) Error() string { return e.msg }

func (c *cli) main(args []string) int {
	// The host manifests name ferry itself; a browser adds only its own
	// arguments (browser.LooksLikeBrowserLaunch).
	if browser.LooksLikeBrowserLaunch(args) {
		args = append([]string{"native-host"}, args...)
	}
	// Global flags may come before the command.
	i := 0
	help := false
	for ; i < len(args); i++ {
		f, ok := globalFlag(args[i])
		if !ok {
			break
		}
		switch f {
		case "json":
			c.json = true
		case "no-autostart":
			c.noAutostart = true
		case "help":
			help = true
		}
	}
	if i == len(args) {
		if help {
			return c.helpAll()
		}
		return c.usage(&usageError{msg: "no command given"})
	}
	word := args[i]
	name := strings.ToLower(strings.TrimPrefix(word, "/"))
	if name == "?" {
		return c.helpAll()
	}
	family := lookupFamily(name)
	if family == nil {
		return c.usage(&usageError{msg: fmt.Sprintf("unknown command %q", word)})
	}
	cmd, req, wantHelp, err := parseCommand(family, args[i+1:], c)
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			return c.usage(ue)
		}
		return c.fail(err)
	}
	if help || wantHelp {
		return c.helpCommand(cmd.Name)
	}
	c.cmd = cmd
	if cmd.run != nil {
		// The commands with a run of their own are the ones that last
		// (the engine, the servers, transfer, monitor, wait): see
		// service.OneProcessor. A single call does not pay for the switch.
		service.OneProcessor()
		return cmd.run(c, req)
	}
	return c.runOp(cmd.op, req)
}

// usage reports a usage error and returns 2.
func (c *cli) usage(e *usageError) int {
	fmt.Fprintf(c.stderr, "ferry: %s\n", e.msg)
	if e.cmd != nil {
		fmt.Fprintf(c.stderr, "usage: ferry %s\nRun 'ferry help %s' for details and an example.\n", e.cmd.Usage(), e.cmd.Name)
	} else {
		fmt.Fprintln(c.stderr, "usage: ferry COMMAND [ARGUMENTS…] [--json] [--no-autostart]\nRun 'ferry help' for the commands.")
	}
	return exitUsage
}

// fail prints cli.md's error line and returns 1.
func (c *cli) fail(err error) int {
	fmt.Fprintln(c.stderr, "ferry: "+asBits(err).Error())
	return exitFail
}

// asBits gives every error a BITS code (E_FAIL for foreign ones), as every
// transport does (package wire).
func asBits(err error) *bits.Error { return wire.AsError(err) }

// runOpJSON prints list's result as --json asks, indenting it as it
// arrives: a verbose list of 100,000 files (30 MB) is never held whole.
func (c *cli) runOpJSON(ctx context.Context, op *ops.Op, req ops.Request) int {
	body, cl, err := c.callBody(ctx, op.Name, req)
	if err != nil {
		return c.fail(err)
	}
	ok, head, err := writeIndentedResult(c.stdout, body)
	if !ok {
		var rest []byte
		if rest, err = io.ReadAll(body); err == nil {
			var raw []byte
			if raw, err = wire.ParseResult(append(head, rest...)); err == nil {
				err = c.printJSON(raw)
			}
		}
	} else if err != nil {
		err = fmt.Errorf("print JSON: %w", err)
	}
	body.Close()
	if err != nil {
		return c.fail(err)
	}
	c.noteUnreadable(ctx, cl) // unreadable.go
	return exitOK
}

// printJSON prints a JSON document indented, as cli.md shows them.
func (c *cli) printJSON(raw []byte) error {
	if err := writeIndented(c.stdout, raw); err != nil {
		return fmt.Errorf("print JSON: %w", err)
	}
	return nil
}

// marshalJSON encodes v as the engine does (package wire).
func marshalJSON(v any) ([]byte, error) { return wire.Marshal(v) }

// prepare makes path arguments absolute and reads a "-" secret from stdin.
func (c *cli) prepare(spec *ops.Spec, req *ops.Request) error {
	for i := range req.Args {
		a := argAt(spec, i)
		switch a.Kind {
		case ops.ArgPath:
			abs, err := filepath.Abs(req.Args[i])
			if err != nil {
				return bits.Errorf(bits.E_INVALIDARG, "%s: %v", a.Name, err)
			}
			req.Args[i] = abs
		case ops.ArgSecret:
			if req.Args[i] == "-" {
				s, err := readSecret(c.stdin)
				if err != nil {
					return err
				}
				if !utf8.ValidString(s) {
					return bits.Errorf(bits.E_INVALIDARG, "the password read from standard input is not valid UTF-8")
				}
				req.Args[i] = s
			}
		}
	}
	return nil
}

func argAt(spec *ops.Spec, i int) ops.Arg {
	if i < len(spec.Args) {
		return spec.Args[i]
	}
	if n := len(spec.Args); n > 0 && spec.Args[n-1].Variadic {
		return spec.Args[n-1]
	}
	return ops.Arg{}
}

// readSecret reads one line (without its newline) from r.
func readSecret(r io.Reader) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) <= bits.MaxPassword*4 {
		n, err := r.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				break
			}
			b = append(b, one[0])
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", bits.Errorf(bits.E_INVALIDARG, "cannot read the password from standard input: %v", err)
		}
	}
	return strings.TrimSuffix(string(b), "\r"), nil
}

// runOp sends one operation of the table to the engine and prints its result.
func (c *cli) runOp(op *ops.Op, req ops.Request) int {
	if err := c.prepare(&op.Spec, &req); err != nil {
		return c.fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if c.json && op.Name == "list" {
		return c.runOpJSON(ctx, op, req)
	}
	raw, cl, err := c.call(ctx, op.Name, req)
	if err != nil {
		return c.fail(err)
	}
	if !op.Prints {
		c.printNote(raw)
		return exitOK
	}
	if c.json {
		err = c.printJSON(raw)
	} else if op.Text != nil {
		err = op.Text(c.stdout, raw, req)
	}
	if err != nil {
		return c.fail(err)
	}
	switch op.Name {
	case "list":
		c.noteUnreadable(ctx, cl) // unreadable.go
	case "info":
		c.noteLockedCredentials(ctx, cl, raw) // unreadable.go
	}
	return exitOK
}

// printNote tells about a success code worth knowing (S_FALSE, partial
// completion) on stderr, so that stdout stays empty for scripts.
func (c *cli) printNote(raw json.RawMessage) {
	var n *ops.Note
	if json.Unmarshal(raw, &n) != nil || n == nil || n.Name == "" {
		return
	}
	fmt.Fprintf(c.stderr, "ferry: note: %s (%s): %s\n", n.Name, n.Code.Hex(), n.Message)
}

// resolveHome finds FERRY_HOME (without creating it).
func resolveHome() (home.Home, error) {
	h, err := home.Resolve()
	if err != nil {
		return home.Home{}, bits.Errorf(bits.E_FAIL, "%v", err)
	}
	return h, nil
}

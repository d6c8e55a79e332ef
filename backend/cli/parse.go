package cli

import (
	"fmt"
	"strconv"
	"strings"

	"ferry/backend/ops"
)

// command is one command of the CLI: an operation of the table, sent to the
// engine, or a command run here (run set).
type command struct {
	ops.Spec
	op  *ops.Op
	run func(c *cli, r ops.Request) int
}

// commands is every command: the operations table, then the local ones
// (which replace an operation of the same name, as shutdown does).
var commands []*command

func init() {
	local := localCommands()
	names := map[string]bool{}
	for _, l := range local {
		names[l.Name] = true
	}
	for _, op := range ops.All() {
		if !names[op.Name] {
			commands = append(commands, &command{Spec: op.Spec, op: op})
		}
	}
	commands = append(commands, local...)
}

// lookupFamily returns the commands whose first word is name: "config"
// gives config, config get and config set.
func lookupFamily(name string) []*command {
	var out []*command
	for _, c := range commands {
		first, _, _ := strings.Cut(c.Name, " ")
		if first == name {
			out = append(out, c)
		}
	}
	return out
}

func findCommand(name string) *command {
	for _, c := range commands {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// globalFlag recognises the flags every command takes. bitsadmin's output
// modifiers (/rawreturn, /wrap, /nowrap) are accepted and ignored: Ferry's
// plain output is already raw.
func globalFlag(tok string) (string, bool) {
	switch strings.ToLower(tok) {
	case "--json", "/json":
		return "json", true
	case "--no-autostart", "/no-autostart":
		return "no-autostart", true
	case "--help", "-h", "/?", "/help", "-help":
		return "help", true
	case "/rawreturn", "/wrap", "/nowrap", "--rawreturn", "--wrap", "--nowrap":
		return "ignore", true
	}
	return "", false
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func findFlag(flags []ops.Flag, name string) (ops.Flag, bool) {
	for _, f := range flags {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return ops.Flag{}, false
}

// parseCommand splits tokens into positional arguments and flags. Flags may
// come anywhere (after the arguments too) as --name, --name=value, or
// bitsadmin's /name; a "/word" that names no flag of the command is an
// argument, since absolute paths start with a slash. "--" ends the flags.
func parseCommand(family []*command, tokens []string, c *cli) (*command, ops.Request, bool, error) {
	base := family[0]
	var union []ops.Flag
	for _, m := range family {
		union = append(union, m.Flags...)
	}
	req := ops.Request{Args: []string{}}
	flags := map[string]string{}
	help := false
	dashdash := false
	for i := 0; i < len(tokens); i++ {
		tok := tokens[i]
		if dashdash {
			req.Args = append(req.Args, tok)
			continue
		}
		if tok == "--" {
			dashdash = true
			continue
		}
		if g, ok := globalFlag(tok); ok {
			switch g {
			case "json":
				c.json = true
			case "no-autostart":
				c.noAutostart = true
			case "help":
				help = true
			}
			continue
		}
		var body string
		switch {
		case strings.HasPrefix(tok, "--"):
			body = tok[2:]
		case strings.HasPrefix(tok, "-") && len(tok) > 1 && !isNumber(tok):
			body = tok[1:]
		case strings.HasPrefix(tok, "/") && len(tok) > 1:
			name, _, _ := strings.Cut(tok[1:], "=")
			if _, ok := findFlag(union, name); !ok {
				req.Args = append(req.Args, tok) // a path, not a flag
				continue
			}
			body = tok[1:]
		default:
			req.Args = append(req.Args, tok)
			continue
		}
		name, value, hasValue := strings.Cut(body, "=")
		f, ok := findFlag(union, name)
		if !ok {
			return base, req, false, &usageError{cmd: base, msg: fmt.Sprintf("%s has no flag %s", base.Name, tok)}
		}
		if f.Value == "" {
			if hasValue {
				return base, req, false, &usageError{cmd: base, msg: fmt.Sprintf("--%s takes no value", f.Name)}
			}
			value = "true"
		} else if !hasValue {
			if i+1 >= len(tokens) {
				return base, req, false, &usageError{cmd: base, msg: fmt.Sprintf("--%s needs a value (%s)", f.Name, f.Value)}
			}
			i++
			value = tokens[i]
		}
		flags[f.Name] = value
	}
	// A sub-command ("config get") is named by the first argument.
	cmd := base
	if len(family) > 1 && len(req.Args) > 0 {
		if sub := findCommand(base.Name + " " + strings.ToLower(req.Args[0])); sub != nil {
			cmd = sub
			req.Args = req.Args[1:]
		}
	}
	for name := range flags {
		if _, ok := cmd.FindFlag(name); !ok {
			return cmd, req, false, &usageError{cmd: cmd, msg: fmt.Sprintf("%s has no flag --%s", cmd.Name, name)}
		}
	}
	if len(flags) > 0 {
		req.Flags = flags
	}
	if help {
		return cmd, req, true, nil
	}
	if msg := cmd.CheckArgs(len(req.Args)); msg != "" {
		if len(family) > 1 && cmd == base && len(req.Args) > 0 {
			msg = fmt.Sprintf("%s has no sub-command %q", base.Name, req.Args[0])
		}
		return cmd, req, false, &usageError{cmd: cmd, msg: msg}
	}
	// Before JSON would turn the bytes into U+FFFD (E_INVALIDARG, exit 1).
	if err := ops.CheckUTF8(req); err != nil {
		return cmd, req, false, err
	}
	return cmd, req, false, nil
}

package cli

import (
	"errors"
	"strings"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/ops"
)

// FuzzParseCommand: a command line, as the tokens the shell hands over
// (the fuzzer's string split at newlines). A refusal is a usage error with
// a sentence (exit 2) or a named BITS error (exit 1); an accepted line has
// an argument count the command takes and only its flags, and written back
// as --flag=value … -- args it parses to the same request.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"create\n--download\nnightly", "addfile\nJOB\nhttp://h/x\n/tmp/x\n--sha256\nab", "config\nset\nbandwidth.yield\nfalse",
		"config\nget", "setnotifycmdline\nJOB\n/bin/echo\n$(id) ;|&", "list\n--verbose\n/json", "transfer\n--priority=low\n--\n--x\n/y",
		"info\nJOB\n--verbose=1", "create\n--nope", "getstate\n\xff", "wait\nJOB\n--timeout", "/addfile\nJOB\n/a\n/b", "reset\n--allusers\n-h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		tokens := strings.Split(line, "\n")
		family := lookupFamily(strings.TrimPrefix(strings.ToLower(tokens[0]), "/"))
		if len(family) == 0 {
			return // an unknown command: main's usage error, before parsing
		}
		cmd, req, help, err := parseCommand(family, tokens[1:], &cli{})
		if err != nil {
			var ue *usageError
			var be *bits.Error
			switch {
			case errors.As(err, &ue):
				if ue.msg == "" || ue.cmd == nil {
					t.Fatalf("%q: a usage error without a sentence or command", line)
				}
			case errors.As(err, &be):
				if be.Code != bits.E_INVALIDARG || be.Msg == "" {
					t.Fatalf("%q: refused with %v", line, err)
				}
			default:
				t.Fatalf("%q: refused with %T %v", line, err, err)
			}
			return
		}
		if help {
			return
		}
		if msg := cmd.CheckArgs(len(req.Args)); msg != "" {
			t.Fatalf("%q accepted with %d arguments: %s", line, len(req.Args), msg)
		}
		var again []string
		if cmd != family[0] {
			again = append(again, strings.TrimPrefix(cmd.Name, family[0].Name+" "))
		}
		for name, v := range req.Flags {
			fl, ok := cmd.FindFlag(name)
			if !ok {
				t.Fatalf("%q accepted with flag %q that %s does not take", line, name, cmd.Name)
			}
			if fl.Value == "" {
				again = append(again, "--"+name)
			} else {
				again = append(again, "--"+name+"="+v)
			}
		}
		again = append(append(again, "--"), req.Args...)
		cmd2, req2, _, err := parseCommand(family, again, &cli{})
		if err != nil || cmd2 != cmd || !sameRequest(req, req2) {
			t.Fatalf("%q: %s %+v written back as %q parses as %v %+v %v", line, cmd.Name, req, again, cmd2.Name, req2, err)
		}
	})
}

func sameRequest(a, b ops.Request) bool {
	if len(a.Args) != len(b.Args) || len(a.Flags) != len(b.Flags) {
		return false
	}
	for i := range a.Args {
		if a.Args[i] != b.Args[i] {
			return false
		}
	}
	for k, v := range a.Flags {
		if b.Flags[k] != v {
			return false
		}
	}
	return true
}

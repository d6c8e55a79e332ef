package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/ops"
)

var groupOrder = []string{ops.GroupJobs, ops.GroupGet, ops.GroupSet, ops.GroupClient, ops.GroupEngine, ops.GroupCommand}

func (c *cli) helpAll() int {
	w := c.stdout
	fmt.Fprint(w, `Ferry moves files in the background, the way Windows' BITS does: jobs survive
restarts, resume where they stopped, retry, and yield the network to you.

Usage: ferry COMMAND [ARGUMENTS…] [--json] [--no-autostart]
       ferry                 open the desktop window

Every command also answers to bitsadmin's spelling (ferry /create …), so
bitsadmin scripts port by changing the program name. JOB is a job's id
(braces allowed) or its display name when that is unique.
`)
	for _, g := range groupOrder {
		fmt.Fprintf(w, "\n%s:\n", g)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, cmd := range commands {
			if cmd.Group == g {
				fmt.Fprintf(tw, "  %s\t%s\n", cmd.Name, cmd.Summary)
			}
		}
		tw.Flush()
	}
	fmt.Fprint(w, `
Flags of every command:
  --json          print data as JSON (the shapes of shared/cli.md)
  --no-autostart  fail instead of starting an engine when none runs
  --help          this command's usage and an example

Environment:
  FERRY_HOME      the directory of one installation: database, control socket,
                  lock, log (default: the user's config directory + /ferry)

Exit status: 0 success; 1 the operation failed (stderr: "ferry: NAME (0xHEX): why");
2 usage error. Run 'ferry help COMMAND' for a command's usage and an example.
`)
	return exitOK
}

// helpCommand prints one command's usage, or every sub-command's.
func (c *cli) helpCommand(name string) int {
	var cmds []*command
	if cmd := findCommand(name); cmd != nil && strings.Contains(name, " ") {
		cmds = []*command{cmd}
	} else {
		cmds = lookupFamily(name)
	}
	if len(cmds) == 0 {
		return c.usage(&usageError{cmd: findCommand("help"), msg: fmt.Sprintf("unknown command %q", name)})
	}
	for i, cmd := range cmds {
		if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		writeCommandHelp(c.stdout, cmd, i == len(cmds)-1)
	}
	return exitOK
}

func writeCommandHelp(w io.Writer, cmd *command, last bool) {
	fmt.Fprintf(w, "usage: ferry %s\n\n%s.\n", cmd.Usage(), upperFirst(cmd.Summary))
	if cmd.Help != "" && (last || !sameHelpFollows(cmd)) {
		fmt.Fprintf(w, "%s\n", cmd.Help)
	}
	if cmd.Verb != nil {
		fmt.Fprint(w, verbHelp(cmd.Verb))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nFlags:")
	for _, f := range cmd.Flags {
		name := "--" + f.Name
		if f.Value != "" {
			name += " " + f.Value
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, f.Help)
	}
	if cmd.Prints {
		fmt.Fprintf(tw, "  --json\t%s\n", "print the result as JSON")
	}
	fmt.Fprintf(tw, "  --no-autostart\t%s\n", "fail if no engine runs instead of starting one")
	tw.Flush()
	fmt.Fprintf(w, "\nExample:\n  %s\n", cmd.Example)
}

// verbHelp says in which states a job method acts, from its declaration
// (engine.Verbs), the same that the window and the browser UI offer.
func verbHelp(v *engine.Verb) string {
	var b strings.Builder
	b.WriteString("Acts on a job in:\n")
	for _, t := range []bits.JobType{bits.TypeDownload, bits.TypeUpload, bits.TypeUploadReply} {
		names := make([]string, 0, len(v.Acts[t]))
		for _, s := range v.Acts[t] {
			names = append(names, s.String())
		}
		if len(names) == 0 {
			names = append(names, "(none)")
		}
		fmt.Fprintf(&b, "  %-13s %s\n", t.String()+":", strings.Join(names, ", "))
	}
	if v.NeedsFiles {
		b.WriteString("with at least one file (else BG_E_EMPTY).\n")
	}
	if v.Elsewhere == engine.NoOp {
		b.WriteString("In any other state that is not final it changes nothing.\n")
	} else {
		b.WriteString("In any other state it fails with BG_E_INVALID_STATE.\n")
	}
	return b.String()
}

// HelpText is one command's help as `ferry help NAME` prints it ("" for an
// unknown command).
func HelpText(name string) string {
	cmd := findCommand(name)
	if cmd == nil {
		return ""
	}
	var b strings.Builder
	writeCommandHelp(&b, cmd, true)
	return b.String()
}

// sameHelpFollows: sub-commands of config share one long help; print it once.
func sameHelpFollows(cmd *command) bool {
	fam := lookupFamily(strings.Fields(cmd.Name)[0])
	for i, m := range fam {
		if m == cmd && i+1 < len(fam) {
			return fam[i+1].Help == cmd.Help
		}
	}
	return false
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func runHelp(c *cli, r ops.Request) int {
	if len(r.Args) == 0 {
		return c.helpAll()
	}
	words := make([]string, len(r.Args))
	for i, a := range r.Args {
		words[i] = strings.ToLower(strings.TrimPrefix(a, "/"))
	}
	return c.helpCommand(strings.Join(words, " "))
}

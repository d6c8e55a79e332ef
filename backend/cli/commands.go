package cli

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"ferry/backend/api"
	"ferry/backend/bits"
	"ferry/backend/ops"
	"ferry/backend/service"
)

// localCommands are run here rather than sent to the engine as one call.
func localCommands() []*command {
	shutdownOp, _ := ops.Lookup("shutdown")
	return append([]*command{
		{Spec: ops.Spec{Name: "transfer", Group: ops.GroupClient,
			Args: []ops.Arg{{Name: "REMOTE"}, {Name: "LOCAL"}, {Name: "REMOTE LOCAL", Optional: true, Variadic: true}},
			Flags: []ops.Flag{
				{Name: "name", Value: "N", Help: "the job's display name (default \"ferry transfer\")"},
				{Name: "priority", Value: "P", Help: "foreground (the default, as Start-BitsTransfer), high, normal or low"},
				{Name: "download", Help: "download REMOTE to LOCAL (the default)"},
				{Name: "upload", Help: "upload LOCAL to REMOTE (one file)"},
				{Name: "dynamic", Help: "the remote content is dynamic: no size or ranges needed"},
			},
			Summary: "create a job, add the files, resume it, show progress; on TRANSFERRED complete it (exit 0), on ERROR cancel it (exit 1)",
			Help: "Transient errors are waited through. Ctrl-C cancels the job and removes its temporary files.\n" +
				"LOCAL may be relative here. As bitsadmin's /transfer, a display name may come first: ferry /transfer NAME REMOTE LOCAL.",
			Example: "ferry transfer https://example.org/a.iso ~/a.iso", Prints: true},
			run: runTransfer},
		{Spec: ops.Spec{Name: "monitor", Group: ops.GroupClient,
			Flags: []ops.Flag{
				{Name: "refresh", Value: "SECONDS", Help: "redraw at least this often (default 5)"},
				{Name: "allusers", Help: "every user's jobs"},
			},
			Summary: "a live view of the jobs until interrupted; --json streams one {\"event\":…,\"job\":{…}} object a line",
			Example: "ferry monitor --json", Prints: true},
			run: runMonitor},
		{Spec: ops.Spec{Name: "wait", Group: ops.GroupClient, Args: []ops.Arg{{Name: "JOB", Kind: ops.ArgJob}},
			Flags:   []ops.Flag{{Name: "timeout", Value: "SECONDS", Help: "give up after this long (exit 1)"}},
			Summary: "block until the job is TRANSFERRED, ERROR, ACKNOWLEDGED or CANCELLED; print the state; exit 0 only for TRANSFERRED or ACKNOWLEDGED",
			Example: "ferry wait nightly --timeout 3600", Prints: true},
			run: runWait},
		{Spec: ops.Spec{Name: "service", Group: ops.GroupEngine,
			Summary: "run the engine in the foreground until SIGINT/SIGTERM or 'ferry shutdown'",
			Help:    "Other commands start it in the background by themselves when none runs. One engine runs per FERRY_HOME.",
			Example: "FERRY_HOME=/srv/ferry ferry service"},
			run: runService},
		{Spec: shutdownOp.Spec, run: runShutdown},
		{Spec: ops.Spec{Name: "version", Group: ops.GroupCommand, Summary: "print the version", Example: "ferry version", Prints: true},
			run: runVersion},
		{Spec: ops.Spec{Name: "help", Group: ops.GroupCommand, Args: []ops.Arg{{Name: "COMMAND", Optional: true, Variadic: true}},
			Summary: "the commands, or one command's usage and example", Example: "ferry help addfile"},
			run: runHelp},
		{Spec: ops.Spec{Name: "completion", Group: ops.GroupCommand, Args: []ops.Arg{{Name: "bash|zsh|fish"}},
			Summary: "print a shell completion script",
			Help:    "bash: source <(ferry completion bash)\nzsh:  ferry completion zsh > \"${fpath[1]}/_ferry\"\nfish: ferry completion fish > ~/.config/fish/completions/ferry.fish",
			Example: "source <(ferry completion bash)"},
			run: runCompletion},
		serveUploadsCommand(),
		webCommand(), // web.go
	}, browserCommands()...) // browser.go
}

func runService(c *cli, _ ops.Request) int {
	h, err := resolveHome()
	if err != nil {
		return c.fail(err)
	}
	if err := service.Run(context.Background(), h, c.stderr); err != nil {
		return c.fail(err)
	}
	return exitOK
}

func runShutdown(c *cli, _ ops.Request) int {
	h, err := resolveHome()
	if err != nil {
		return c.fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	// Never autostarted: starting an engine to stop it makes no sense.
	was, err := service.Shutdown(ctx, h)
	if err != nil {
		if _, ok := api.AsConnectError(err); ok {
			err = connectFailure(h, err)
		}
		return c.fail(err)
	}
	if !was {
		fmt.Fprintf(c.stderr, "ferry: no engine is running for FERRY_HOME %s\n", h.Dir)
	}
	return exitOK
}

func runVersion(c *cli, _ ops.Request) int {
	if c.json {
		b, _ := marshalJSON(map[string]string{"version": service.Version, "go": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH})
		if err := c.printJSON(b); err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	fmt.Fprintf(c.stdout, "ferry %s (%s, %s/%s)\n", service.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}

// parseSecondsFlag reads a --timeout/--refresh value (fractions allowed).
func parseSecondsFlag(name, s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 || f > 1e9 {
		return 0, bits.Errorf(bits.E_INVALIDARG, "--%s %q is not a positive number of seconds", name, s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"ferry/backend/api/wire"
	"ferry/backend/bits"
	"ferry/backend/browser"
	"ferry/backend/browser/manifests"
	"ferry/backend/clock"
	"ferry/backend/ops"
)

// OpenWindow opens the desktop window for the extension's popup; cmd/ferry
// sets it (it knows where ferry-desktop lives).
var OpenWindow func() error

// browserCommands are `ferry native-host` and `ferry browser …` (browser.go).
func browserCommands() []*command {
	which := []ops.Flag{{Name: "browser", Value: "B", Help: "chrome, chromium, edge, firefox or all (the default)"}}
	return []*command{
		{Spec: ops.Spec{Name: "native-host", Group: ops.GroupClient,
			Args:    []ops.Arg{{Name: "CALLER", Optional: true, Variadic: true}},
			Summary: "the native messaging host of Ferry's browser extension (browsers start it; people do not)",
			Help: "Reads and writes native messages on stdin/stdout (a 32-bit length in the machine's byte order, then UTF-8 JSON,\n" +
				"at most 1 MiB each way); logs go to stderr. It serves Ferry's extension only: CALLER is what the browser passes\n" +
				"(chrome-extension://" + manifests.ChromiumID + "/, or Firefox's manifest path and " + manifests.FirefoxID + ").\n" +
				"It talks to the engine over the control socket, starting one when none runs, and never opens a port.\n" +
				"The host manifests name the ferry executable itself, so `ferry CALLER…` runs this command too.",
			Example: "ferry native-host chrome-extension://" + manifests.ChromiumID + "/"},
			run: runNativeHost},
		{Spec: ops.Spec{Name: "browser", Group: ops.GroupClient, Args: []ops.Arg{{Name: "install|uninstall|status"}}, Flags: which,
			Summary: "the browser extension's native messaging host: install, uninstall or status",
			Example: "ferry browser status"},
			run: func(c *cli, r ops.Request) int {
				return c.usage(&usageError{cmd: c.cmd, msg: fmt.Sprintf("browser has no sub-command %q (install, uninstall or status)", r.Args[0])})
			}},
		{Spec: ops.Spec{Name: "browser install", Group: ops.GroupClient, Flags: which,
			Summary: "register the native messaging host with the browsers of this user (their per-user host manifests)",
			Help: "Linux: ~/.config/{google-chrome,chromium,microsoft-edge}/NativeMessagingHosts/ (XDG_CONFIG_HOME) and\n" +
				"~/.mozilla/native-messaging-hosts/; macOS: ~/Library/Application Support/…/NativeMessagingHosts/; Windows:\n" +
				"HKCU\\Software\\{Google\\Chrome,Chromium,Microsoft\\Edge,Mozilla}\\NativeMessagingHosts\\" + manifests.HostName + ".\n" +
				"The manifests name this executable and allow Ferry's extension only.",
			Example: "ferry browser install --browser firefox", Prints: true},
			run: runBrowser(manifests.Installer.Install)},
		{Spec: ops.Spec{Name: "browser uninstall", Group: ops.GroupClient, Flags: which,
			Summary: "remove the host manifests that browser install wrote", Example: "ferry browser uninstall", Prints: true},
			run: runBrowser(manifests.Installer.Uninstall)},
		{Spec: ops.Spec{Name: "browser status", Group: ops.GroupClient, Flags: which,
			Summary: "whether each browser has the host manifest, and when its extension last reached Ferry (connected)",
			Example: "ferry browser status --json", Prints: true},
			run: runBrowser(manifests.Installer.Status)},
	}
}

func runBrowser(do func(manifests.Installer, manifests.Browser) (manifests.Status, error)) func(*cli, ops.Request) int {
	return func(c *cli, r ops.Request) int {
		which, err := manifests.ParseBrowsers(r.Flag("browser"))
		if err != nil {
			return c.usage(&usageError{cmd: c.cmd, msg: err.Error()})
		}
		h, err := resolveHome()
		if err != nil {
			return c.fail(err)
		}
		exe, err := os.Executable()
		if err != nil {
			return c.fail(bits.Errorf(bits.E_FAIL, "cannot find this executable: %v", err))
		}
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		in := manifests.Installer{Exe: exe, Home: h.Dir}
		out := []manifests.Status{}
		for _, b := range which {
			st, err := do(in, b)
			if err != nil {
				return c.fail(err)
			}
			out = append(out, st)
		}
		if c.json {
			raw, err := marshalJSON(out)
			if err == nil {
				err = c.printJSON(raw)
			}
			if err != nil {
				return c.fail(err)
			}
			return exitOK
		}
		raw, err := marshalJSON(out)
		if err == nil {
			err = ops.TextBrowserStatus(c.stdout, raw, r)
		}
		if err != nil {
			return c.fail(err)
		}
		return exitOK
	}
}

// runNativeHost serves one browser until it closes the pipe. Nothing but
// frames goes to stdout: the browser would read anything else as a
// message's length.
func runNativeHost(c *cli, r ops.Request) int {
	log := slog.New(slog.NewTextHandler(c.stderr, nil))
	family, err := browser.Caller(r.Args)
	if err != nil {
		log.Error("refused", "err", err)
		_ = browser.WriteFrame(c.stdout, browser.Reply{Error: wire.Body(err)})
		return exitFail
	}
	h, err := resolveHome()
	if err != nil {
		_ = browser.WriteFrame(c.stdout, browser.Reply{Error: wire.Body(err)})
		return exitFail
	}
	exe, err := os.Executable()
	if err != nil {
		return c.fail(bits.Errorf(bits.E_FAIL, "cannot find this executable: %v", err))
	}
	host := &browser.Host{
		Connect: func(ctx context.Context) (browser.Engine, error) {
			cl, err := c.connect(ctx)
			if err != nil {
				return nil, err
			}
			return cl, nil
		},
		Exe: exe, Home: h.Dir, OpenWindow: OpenWindow, Clock: clock.Real{}, Log: log,
	}
	if err := h.Ensure(); err != nil {
		log.Warn("FERRY_HOME is not usable", "err", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := host.Serve(ctx, family, c.stdin, c.stdout); err != nil {
		log.Error("native host ended", "err", err)
		return exitFail
	}
	return exitOK
}

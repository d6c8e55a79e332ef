package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"ferry/backend/bits"
	"ferry/backend/ops"
	"ferry/backend/service"
	"ferry/backend/web"
)

// webCommand is `ferry web`: the window's interface in a browser, served by
// package web as a client of the engine (started here when none runs, as
// for every command).
func webCommand() *command {
	return &command{Spec: ops.Spec{Name: "web", Group: ops.GroupClient,
		Flags: []ops.Flag{{Name: "listen", Value: "ADDR",
			Help: "host:port to listen on (default " + web.DefaultAddr + ": loopback, a free port)"}},
		Summary: "serve the desktop window's interface to a browser until interrupted; prints the address to open, with its access token",
		Help: "The API needs the token in the printed address: the page keeps it in its tab (never in a cookie) and sends it as\n" +
			"Authorization: Bearer TOKEN, as scripts do.\n" +
			"Listening beyond loopback exposes the token to the network in clear text: prefer an SSH tunnel.",
		Example: "ferry web --listen 127.0.0.1:8080"},
		run: runWeb}
}

func runWeb(c *cli, r ops.Request) int {
	h, err := resolveHome()
	if err != nil {
		return c.fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	cl, err := c.connectFor(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer cl.Close()
	// The engine may stop while the page is open (`ferry shutdown`); the
	// next call starts one again, as any command would.
	reconnect := func(ctx context.Context) error {
		if c.noAutostart {
			return bits.Errorf(bits.ERROR_SERVICE_NOT_ACTIVE, "the engine stopped")
		}
		return autostart(ctx, h, cl)
	}
	srv, err := web.Listen(web.Options{Addr: r.Flag("listen"), Engine: web.ClientEngine(cl, reconnect), Version: service.Version})
	if err != nil {
		return c.fail(bits.Errorf(bits.E_FAIL, "%v", err))
	}
	if ip, ok := srv.Addr().(*net.TCPAddr); ok && !ip.IP.IsLoopback() {
		fmt.Fprintf(c.stderr, "ferry: warning: %s is reachable from other machines, and plain HTTP carries the token in clear text\n", srv.Addr())
	}
	fmt.Fprintf(c.stderr, "ferry: the browser UI of FERRY_HOME %s; open this address (Ctrl-C stops serving it):\n", h.Dir)
	fmt.Fprintln(c.stdout, srv.URL())
	if err := srv.Serve(ctx); err != nil {
		return c.fail(bits.Errorf(bits.E_FAIL, "%v", err))
	}
	return exitOK
}

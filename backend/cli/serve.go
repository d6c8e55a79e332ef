package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"ferry/backend/bits"
	"ferry/backend/ops"
	"ferry/backend/uploadserver"
	"ferry/backend/uploadserver/objstore"
)

// DefaultUploadAddr is where `ferry serve-uploads` listens without
// --listen: loopback, on a fixed port, so that the URLs of upload jobs stay
// valid when the server restarts (its sessions survive a restart).
const DefaultUploadAddr = "127.0.0.1:8381"

// serveUploadsCommand is `ferry serve-uploads`: the server side of the BITS
// upload protocol, run here in the foreground. It needs no engine.
func serveUploadsCommand() *command {
	return &command{Spec: ops.Spec{Name: "serve-uploads", Group: ops.GroupClient,
		Flags: []ops.Flag{
			{Name: "dir", Value: "DIR", Help: "store finished uploads here (required without --store; it must exist)"},
			{Name: "store", Value: "s3://BUCKET/PREFIX", Help: "keep sessions and finished uploads in an S3-compatible object store instead of DIR, so that many instances serve the same sessions (endpoint, region and credentials as for the AWS tools: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/config and credentials)"},
			{Name: "s3-path-style", Help: "address the bucket as http://ENDPOINT/BUCKET (gateways such as SeaweedFS and MinIO) rather than http://BUCKET.ENDPOINT"},
			{Name: "listen", Value: "ADDR", Help: "host:port to listen on (default " + DefaultUploadAddr + "; a port alone listens on loopback)"},
			{Name: "max-size", Value: "BYTES", Help: "refuse uploads larger than this (K, M, G, T suffixes; default no limit)"},
			{Name: "max-sessions", Value: "N", Help: fmt.Sprintf("upload sessions open at once (default %d)", uploadserver.DefaultMaxSessions)},
			{Name: "max-sessions-per-client", Value: "N", Help: "no longer has an effect (a full table now gives way to new sessions); accepted so that old command lines still start"},
			{Name: "quota", Value: "BYTES", Help: "the declared sizes of all unfinished uploads together (K, M, G, T suffixes; default: the free space of DIR)"},
			{Name: "max-connections", Value: "N", Help: fmt.Sprintf("connections served at once (default %d)", uploadserver.DefaultMaxConnections)},
			{Name: "session-timeout", Value: "DURATION", Help: "drop a session with no packet for this long (default 24h; e.g. 90m, 36h, 14d)"},
			{Name: "empty-session-timeout", Value: "DURATION", Help: "drop a session that has received no byte for this long (default 5m)"},
			{Name: "overwrite", Help: "let an upload replace an existing file (default: refused with 409; the job retries until the file is gone)"},
		},
		Summary: "receive BITS uploads (BITS_POST) into a directory until SIGINT/SIGTERM; prints the URL to upload to",
		Help: "An upload job's remote name is this URL plus the file's name below DIR, e.g. http://127.0.0.1:8381/reports/q3.pdf\n" +
			"(subdirectories are created; names that could escape DIR are refused). Unfinished sessions are kept in\n" +
			"DIR/" + uploadserver.StateDirName + " and survive a restart of the server, so jobs resume where they stopped;\n" +
			"each upload's declared size is reserved at its first fragment, against --quota and the free space of DIR;\n" +
			"when --max-sessions are open, the one idle longest gives way to a new one, and idle ones are dropped after\n" +
			"the timeouts. A request body must keep up 1 KiB/s after its first 30 s, or its connection is closed.\n" +
			"Upload-reply jobs get a JSON reply: {\"name\", \"size\", \"sha256\", \"sessionId\"} of the stored file.\n" +
			"It listens on loopback unless ADDR names another address (0.0.0.0:8381 for every interface); the\n" +
			"server has no authentication, so anyone who can reach it can upload. It needs no engine.\n" +
			"With --store s3://BUCKET/PREFIX the sessions and uploads live in the object store, and any number of\n" +
			"instances behind a load balancer serve any packet of any session (see the README's fleet section).\n" +
			"GET /healthz answers ok while the store does; GET /metrics serves Prometheus metrics.",
		Example: "ferry serve-uploads --dir /srv/incoming --listen 127.0.0.1:8381"},
		run: runServeUploads}
}

// uploadListenAddr applies the default and makes a port alone loopback.
func uploadListenAddr(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultUploadAddr, nil
	}
	if _, err := strconv.ParseUint(s, 10, 16); err == nil {
		return net.JoinHostPort("127.0.0.1", s), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", bits.Errorf(bits.E_INVALIDARG, "--listen %q is not host:port", s)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// parseByteCount reads a size with an optional K, M, G or T suffix (powers
// of 1024).
func parseByteCount(name, s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		if i := strings.IndexByte("KMGT", t[n-1]); i >= 0 {
			mult = int64(1) << (10 * (i + 1))
			t = t[:n-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, bits.Errorf(bits.E_INVALIDARG, "--%s %q is not a positive number of bytes (K, M, G, T suffixes allowed)", name, s)
	}
	return n * mult, nil
}

// parseTimeout reads a positive duration: Go's syntax (90s, 90m, 36h) or
// whole days (14d).
func parseTimeout(name, s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(t, "d"); ok {
		var n int64
		n, err = strconv.ParseInt(days, 10, 64)
		if err == nil && (n <= 0 || n > 3650) {
			err = errors.New("out of range")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(t)
	}
	if err != nil || d < time.Second {
		return 0, bits.Errorf(bits.E_INVALIDARG, "--%s %q is not a duration of at least a second (e.g. 90s, 90m, 36h, 14d)", name, s)
	}
	return d, nil
}

func runServeUploads(c *cli, r ops.Request) int {
	switch {
	case r.Has("dir") && r.Has("store"):
		return c.usage(&usageError{cmd: c.cmd, msg: "serve-uploads takes --dir DIR or --store s3://BUCKET/PREFIX, not both"})
	case !r.Has("dir") && !r.Has("store"):
		return c.usage(&usageError{cmd: c.cmd, msg: "serve-uploads needs --dir DIR (or --store s3://BUCKET/PREFIX)"})
	case r.Has("s3-path-style") && !r.Has("store"):
		return c.usage(&usageError{cmd: c.cmd, msg: "--s3-path-style goes with --store"})
	}
	cfg := uploadserver.Config{AllowOverwrite: r.Has("overwrite")}
	var dir string
	var err error
	if r.Has("store") {
		if _, _, err := objstore.ParseURL(r.Flag("store")); err != nil {
			return c.fail(bits.Errorf(bits.E_INVALIDARG, "--store: %v", err))
		}
		st, err := objstore.OpenS3(context.Background(), r.Flag("store"), objstore.S3Options{PathStyle: r.Has("s3-path-style")})
		if err != nil {
			return c.fail(bits.Errorf(bits.E_INVALIDARG, "--store: %v", err))
		}
		cfg.Store, dir = st, st.String()
	} else {
		if dir, err = filepath.Abs(r.Flag("dir")); err != nil || r.Flag("dir") == "" {
			return c.fail(bits.Errorf(bits.E_INVALIDARG, "--dir %q is not a usable path", r.Flag("dir")))
		}
		switch st, err := os.Stat(dir); {
		case errors.Is(err, fs.ErrNotExist):
			return c.fail(bits.Errorf(bits.ERROR_PATH_NOT_FOUND, "the directory %s does not exist; create it first", dir))
		case err != nil:
			return c.fail(bits.Errorf(bits.E_ACCESSDENIED, "cannot use the directory %s: %v", dir, err))
		case !st.IsDir():
			return c.fail(bits.Errorf(bits.E_INVALIDARG, "%s is not a directory", dir))
		}
		cfg.Dir = dir
	}
	if r.Has("max-size") {
		if cfg.MaxSize, err = parseByteCount("max-size", r.Flag("max-size")); err != nil {
			return c.fail(err)
		}
	}
	if r.Has("max-sessions") {
		n, err := strconv.Atoi(strings.TrimSpace(r.Flag("max-sessions")))
		if err != nil || n <= 0 {
			return c.fail(bits.Errorf(bits.E_INVALIDARG, "--max-sessions %q is not a positive whole number", r.Flag("max-sessions")))
		}
		cfg.MaxSessions = n
	}
	if r.Has("max-sessions-per-client") {
		// A cap per address hurt clients behind one NAT and did not stop
		// one host with many addresses; sessions now give way by cost.
		n, err := strconv.Atoi(strings.TrimSpace(r.Flag("max-sessions-per-client")))
		if err != nil || n <= 0 {
			return c.fail(bits.Errorf(bits.E_INVALIDARG, "--max-sessions-per-client %q is not a positive whole number", r.Flag("max-sessions-per-client")))
		}
		fmt.Fprintln(c.stderr, "ferry: warning: --max-sessions-per-client no longer has an effect: when --max-sessions are open, the session idle longest gives way to a new one")
	}
	if r.Has("quota") && cfg.Store != nil {
		return c.fail(bits.Errorf(bits.E_INVALIDARG, "--quota bounds a directory's disk; it does not apply to --store"))
	}
	if r.Has("quota") {
		if cfg.Quota, err = parseByteCount("quota", r.Flag("quota")); err != nil {
			return c.fail(err)
		}
	}
	if r.Has("max-connections") {
		n, err := strconv.Atoi(strings.TrimSpace(r.Flag("max-connections")))
		if err != nil || n <= 0 {
			return c.fail(bits.Errorf(bits.E_INVALIDARG, "--max-connections %q is not a positive whole number", r.Flag("max-connections")))
		}
		cfg.MaxConnections = n
	}
	for _, t := range []struct {
		flag string
		dst  *time.Duration
	}{{"session-timeout", &cfg.SessionTimeout}, {"empty-session-timeout", &cfg.EmptySessionTimeout}} {
		if r.Has(t.flag) {
			if *t.dst, err = parseTimeout(t.flag, r.Flag(t.flag)); err != nil {
				return c.fail(err)
			}
		}
	}
	addr, err := uploadListenAddr(r.Flag("listen"))
	if err != nil {
		return c.fail(err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(c.stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ready := func(a net.Addr) {
		hostport := a.String()
		if ta, ok := a.(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
			if ta.IP.IsUnspecified() { // every interface: say it as it was asked ("0.0.0.0", not "[::]")
				host, _, _ := net.SplitHostPort(addr)
				hostport = net.JoinHostPort(host, strconv.Itoa(ta.Port))
			}
			fmt.Fprintf(c.stderr, "ferry: warning: listening on %s, reachable from other machines; anyone who can reach it may upload (no authentication)\n", hostport)
		}
		fmt.Fprintf(c.stderr, "ferry: receiving uploads into %s (Ctrl-C stops); upload to:\n", dir)
		fmt.Fprintf(c.stdout, "http://%s/\n", hostport)
	}
	srv, err := uploadserver.New(cfg)
	if err != nil {
		return c.fail(bits.Errorf(bits.E_FAIL, "%v", err))
	}
	defer srv.Close()
	if un := srv.Unreadable(); len(un) > 0 {
		fmt.Fprintf(c.stderr, "ferry: %d upload session record%s could not be read; set aside in %s (the clients start new sessions)\n",
			len(un), map[bool]string{true: "", false: "s"}[len(un) == 1], un[0].Dir)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return c.fail(bits.Errorf(bits.E_FAIL, "uploadserver: %v", err))
	}
	ready(l.Addr())
	if err := srv.Serve(ctx, l); err != nil {
		return c.fail(bits.Errorf(bits.E_FAIL, "%v", err))
	}
	return exitOK
}

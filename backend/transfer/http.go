package transfer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ferry/backend/bits"
)

// HTTPConfig tunes the HTTP(S) driver. Zero fields take the defaults.
type HTTPConfig struct {
	// StallTimeout: a response that sends no byte for this long fails with a
	// transient ERROR_WINHTTP_TIMEOUT (default 60 s).
	StallTimeout time.Duration
	// ConnectTimeout bounds the TCP connect and the TLS handshake (default 30 s).
	ConnectTimeout time.Duration
	// TLSConfig is cloned for every HTTPS connection; nil means the system roots.
	TLSConfig *tls.Config
	// UserAgent is sent on every request (default "Ferry/1.0").
	UserAgent string
	// MaxRedirects followed silently before ERROR_WINHTTP_REDIRECT_FAILED (default 10).
	MaxRedirects int
	// BufferSize is the size of each Target.Write (default 256 KiB).
	BufferSize int
	// AckTimeout bounds the wait for a BITS upload Ack once a fragment is
	// sent (default DefaultAckTimeout; never below StallTimeout).
	AckTimeout time.Duration
	// Logger records servers that break the range protocol and how the
	// download went on (default slog.Default()).
	Logger *slog.Logger
}

// Defaults of HTTPConfig.
const (
	DefaultStallTimeout   = 60 * time.Second
	DefaultConnectTimeout = 30 * time.Second
	DefaultUserAgent      = "Ferry/1.0"
	DefaultMaxRedirects   = 10
	DefaultBufferSize     = 256 << 10
)

// HTTPDriver downloads http:// and https:// URLs the way BITS does (§13),
// with ranged GETs guarded by If-Range, and three differences:
//
//   - No HEAD. A GET with "Range: bytes=0-" answers with the size (in
//     Content-Range) and the validators (ETag, Last-Modified) as well as the
//     bytes, saving a round trip per file. A reply with no size at all keeps
//     BITS' BG_E_MISSING_FILE_SIZE unless the job is dynamic.
//   - A server that ignores Range is not a failure (BITS ends such a job in
//     BG_E_INSUFFICIENT_RANGE_SUPPORT): from byte 0 its 200 is the whole
//     file; resumed, a 200 of the same version is read past the bytes held.
//   - A server that ignores If-Range (go-httpbin, whose ETag is unquoted)
//     is asked again without it when its 200 shows the same version.
//
// See whole for how a 200 is told apart from a new version. Connections are
// kept alive and pooled across the files and calls of every job.
type HTTPDriver struct {
	cfg    HTTPConfig
	client *http.Client
	tls    tlsPool // transports of jobs with their own TLS options
}

var _ Driver = (*HTTPDriver)(nil)

type proxyKey struct{}

var (
	errTooManyRedirects = errors.New("too many redirects")
	errRedirectScheme   = errors.New("redirect to a non-HTTP URL")
)

// NewHTTP builds the driver. One transport serves every job: the per-job
// proxy travels in the request context, and connections are pooled per proxy.
func NewHTTP(cfg HTTPConfig) *HTTPDriver {
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.MaxRedirects <= 0 {
		cfg.MaxRedirects = DefaultMaxRedirects
	}
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = DefaultBufferSize
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = DefaultAckTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var tlsCfg *tls.Config
	if cfg.TLSConfig != nil {
		tlsCfg = cfg.TLSConfig.Clone()
	}
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: func(r *http.Request) (*url.URL, error) {
			if sel, ok := r.Context().Value(proxyKey{}).(ProxySelector); ok {
				return sel(r)
			}
			return nil, nil
		},
		// Every connection can yield; a job's Yielder binds per request.
		DialContext:         yieldDial(dialer.DialContext),
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: cfg.ConnectTimeout,
		// Offsets count raw bytes: a transparently gunzipped body would
		// break every resume.
		DisableCompression:  true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		ReadBufferSize:      64 << 10,
		WriteBufferSize:     16 << 10,
		// HTTP/1.1 only, as BITS: one stream per connection keeps ranged
		// transfers simple and fast on loopback (no h2 flow-control windows).
		ForceAttemptHTTP2: false,
	}
	maxRedirects := cfg.MaxRedirects
	client := &http.Client{
		Transport: tr,
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return errTooManyRedirects
			}
			if r.URL.Scheme != "http" && r.URL.Scheme != "https" {
				return errRedirectScheme
			}
			return nil
		},
	}
	return &HTTPDriver{cfg: cfg, client: client}
}

// Schemes implements Driver.
func (d *HTTPDriver) Schemes() []string { return []string{"http", "https"} }

// CloseIdleConnections drops pooled connections (e.g. after a network change).
func (d *HTTPDriver) CloseIdleConnections() {
	d.client.CloseIdleConnections()
	d.tls.closeIdle()
}

// Download implements Driver.
func (d *HTTPDriver) Download(ctx context.Context, req Request, t Target) error {
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &Error{Code: bits.E_INVALIDARG, Context: bits.ContextRemoteFile, Protocol: "http",
			Err: fmt.Errorf("not an http(s) URL: %q", req.URL)}
	}
	x, err := d.newExchange(req.Options, true)
	if err != nil {
		return err
	}
	defer x.close()
	sctx, cancel := context.WithCancelCause(withYield(context.WithValue(ctx, proxyKey{}, x.sel), req.Options.Yield))
	defer cancel(nil)
	s := &session{
		d: d, parent: ctx, ctx: sctx, url: u.String(), req: req, t: t,
		offset: req.Offset, want: req.Validator, x: x,
		wd: newWatchdog(d.cfg.StallTimeout, cancel),
	}
	defer s.wd.stop()
	if req.Offset <= 0 {
		s.offset, s.want = 0, bits.Validator{}
	}
	// A custom verb (SetHttpMethod) gets one request from byte 0, as
	// dynamic content: BITS sends no HEAD or Range with it.
	if len(req.Ranges) > 0 {
		err = s.ranges() // http_ranges.go
	} else if req.Options.Dynamic || req.Options.customMethod() {
		err = s.dynamic()
	} else if rt, ok := t.(RangeTarget); ok && (req.Connections > 1 || len(req.Segments) > 0) {
		err = s.parallel(rt) // http_parallel.go
	} else {
		err = s.static()
	}
	if err != nil {
		return s.classify(err)
	}
	return nil
}

// session is one Download call.
type session struct {
	d      *HTTPDriver
	parent context.Context // the caller's: its cancellation is not a failure
	ctx    context.Context // parent + watchdog
	url    string
	req    Request
	t      Target
	x      *exchange // client, headers and credentials of this call
	wd     *watchdog

	offset int64          // bytes in t
	want   bits.Validator // version of the bytes in t (zero if none yet)

	noIfRange bool // the server ignored If-Range for the same version: ask without it
	plain     bool // the server refused "bytes=0-": ask without Range
}

// newRequest builds a request with the job's headers (credentials are
// added by the exchange when it sends it).
func (s *session) newRequest(method string) (*http.Request, error) {
	r, err := http.NewRequestWithContext(s.ctx, method, s.url, nil)
	if err != nil {
		return nil, err
	}
	s.x.prepare(r)
	return r, nil
}

// do sends r with the stall watchdog armed until the headers arrive.
func (s *session) do(r *http.Request) (*http.Response, error) {
	s.wd.arm()
	resp, err := s.x.send(r)
	s.wd.disarm()
	if err == nil && s.req.Response != nil {
		s.req.Response(HeaderBlock(resp))
	}
	return resp, err
}

// HeaderBlock renders a response's status line and headers as they came
// (Go keeps neither their order nor their case: canonical names, sorted).
func HeaderBlock(resp *http.Response) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\r\n", resp.Proto, resp.Status)
	_ = resp.Header.Write(&b)
	b.WriteString("\r\n")
	return b.String()
}

// drain discards a small error body so the connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// parseHeaderLines reads CustomHeaders ("Name: value" per CRLF or LF line).
// Range and If-Range are the driver's own and are never overridden.
func parseHeaderLines(s string) http.Header {
	h := http.Header{}
	for _, line := range strings.Split(s, "\n") {
		name, value, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			continue
		}
		k := http.CanonicalHeaderKey(name)
		if k == "Range" || k == "If-Range" {
			continue
		}
		h.Add(k, strings.TrimSpace(value))
	}
	return h
}

func findBasic(creds []bits.Credential, target bits.AuthTarget) (bits.Credential, bool) {
	for _, c := range creds {
		if c.Target == target && c.Scheme == bits.AuthBasic {
			return c, true
		}
	}
	return bits.Credential{}, false
}

// withProxyCredentials puts basic proxy credentials in the proxy URL: the
// transport turns them into Proxy-Authorization (plain and CONNECT).
func withProxyCredentials(sel ProxySelector, creds []bits.Credential) ProxySelector {
	c, ok := findBasic(creds, bits.AuthTargetProxy)
	if !ok {
		return sel
	}
	return func(r *http.Request) (*url.URL, error) {
		u, err := sel(r)
		if u == nil || err != nil {
			return u, err
		}
		cp := *u
		cp.User = url.UserPassword(c.UserName, c.Password)
		return &cp, nil
	}
}

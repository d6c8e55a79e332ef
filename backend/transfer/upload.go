package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"ferry/backend/bits"
)

// The BITS upload protocol (bits-reference §14; [MC-BUP]).
const (
	// UploadProtocol is the GUID of the BITS 1.5 upload protocol, the only one.
	UploadProtocol = "{7df0354d-249b-430f-820d-3d2a9bef4931}"
	// UploadMethod is the verb of every packet.
	UploadMethod = "BITS_POST"
	// DefaultFragmentSize is the body of one Fragment packet. Every
	// fragment costs a round trip and the server's fsync and record before
	// its Ack, so fragments are large (4 MiB made a 256 MiB upload 1.9x
	// slower); 24 MiB stays below IIS' default request limit
	// (maxAllowedContentLength, 30,000,000 bytes), and a smaller limit
	// answers 413, which halves the fragment.
	DefaultFragmentSize = 24 << 20
	// MinFragmentSize bounds the shrinking after 413 replies.
	MinFragmentSize = 64 << 10
	// maxIdleAcks is how many Fragment Acks of one call may acknowledge
	// nothing beyond the Ack before them (a server that lost bytes sends
	// one, a resent last byte another) before the server is taken for a
	// broken one: BG_E_INVALID_SERVER_RESPONSE.
	maxIdleAcks = 8
	// DefaultAckTimeout is how long Ferry waits for an Ack once a packet is
	// sent: the server may be waiting for its back-end application ([MC-BUP]
	// 3.1.2.2 says 5 minutes).
	DefaultAckTimeout = 5 * time.Minute
)

// BITS upload protocol headers.
const (
	hdrPacketType         = "BITS-Packet-Type"
	hdrSessionID          = "BITS-Session-Id"
	hdrSupportedProtocols = "BITS-Supported-Protocols"
	hdrProtocol           = "BITS-Protocol"
	hdrReceivedRange      = "BITS-Received-Content-Range"
	hdrReplyURL           = "BITS-Reply-URL"
	hdrErrorCode          = "BITS-Error-Code"
	hdrError              = "BITS-Error" // [MC-BUP]'s spelling of BITS-Error-Code
	hdrErrorContext       = "BITS-Error-Context"
)

// UploadRequest is one upload, new or resumed.
type UploadRequest struct {
	URL     string
	Options Options
	// Source holds the file's bytes; Size is its length.
	Source io.ReaderAt
	Size   int64
	// Name is the Content-Name: the local file's name without its path.
	Name string
	// SessionID resumes a session ("" creates one); Offset is the server's
	// last acknowledged BITS-Received-Content-Range in it.
	SessionID string
	Offset    int64
	// FragmentSize is the body of one Fragment (0: DefaultFragmentSize).
	FragmentSize int64
}

// UploadTarget is the engine's side of an upload.
type UploadTarget interface {
	// Session records a session the server created, before any fragment
	// of it is sent: from now on the upload resumes it, from offset 0.
	Session(id string) error
	// Check runs before every fragment; an error stops the upload and is
	// returned as is (e.g. BG_E_LOCAL_FILE_CHANGED).
	Check() error
	// Sent reports live progress: the bytes below off went out, not yet
	// acknowledged.
	Sent(off int64)
	// Acked records that the server holds every byte below off.
	Acked(off int64) error
}

// UploadResult is what a finished upload leaves.
type UploadResult struct {
	SessionID string
	// ReplyURL is the absolute BITS-Reply-URL of the last Ack ("" if none).
	ReplyURL string
}

// Uploader is a driver that speaks the BITS upload protocol.
type Uploader interface {
	// Upload sends req.Source from req.Offset (after a Ping, and a
	// Create-Session when req.SessionID is empty) until the server has
	// acknowledged the last byte. It returns an *Error on failure.
	Upload(ctx context.Context, req UploadRequest, t UploadTarget) (UploadResult, error)
	// CloseSession releases a finished session; CancelSession abandons one.
	// A session the server no longer knows counts as done.
	CloseSession(ctx context.Context, req UploadRequest) error
	CancelSession(ctx context.Context, req UploadRequest) error
}

var _ Uploader = (*HTTPDriver)(nil)

// uploadCall is one Upload/CloseSession/CancelSession call.
type uploadCall struct {
	d      *HTTPDriver
	x      *exchange
	parent context.Context
	ctx    context.Context
	url    *url.URL
	req    UploadRequest
	timer  *time.Timer // cancels ctx when a send or an Ack stalls
}

// errUploadStalled is the cancel cause of a stalled packet.
var errUploadStalled = errors.New("the server did not read the packet or send its Ack in time")

func (d *HTTPDriver) newUploadCall(ctx context.Context, req UploadRequest) (*uploadCall, func(), error) {
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, &Error{Code: bits.E_INVALIDARG, Context: bits.ContextRemoteFile, Protocol: "http",
			Err: fmt.Errorf("not an http(s) URL: %q", req.URL)}
	}
	o := req.Options
	o.OnRedirect = nil // packets are never redirected
	x, err := d.newExchange(o, false)
	if err != nil {
		return nil, nil, err
	}
	cctx, cancel := context.WithCancelCause(context.WithValue(ctx, proxyKey{}, x.sel))
	c := &uploadCall{d: d, x: x, parent: ctx, ctx: cctx, url: u, req: req}
	c.timer = time.AfterFunc(time.Hour, func() { cancel(errUploadStalled) })
	c.timer.Stop()
	return c, func() { c.timer.Stop(); cancel(nil); x.close() }, nil
}

func (c *uploadCall) arm(d time.Duration) { c.timer.Reset(d) }

// verb is BITS_POST unless the job set its own (SetHttpMethod).
func (c *uploadCall) verb() string {
	if c.req.Options.Method != "" {
		return c.req.Options.Method
	}
	return UploadMethod
}

// ack is a parsed reply.
type ack struct {
	status int
	header http.Header
}

// packet sends one packet and reads its Ack (the body is discarded). body
// may be nil; size is its length.
func (c *uploadCall) packet(typ string, hdr http.Header, body func() io.ReadCloser, size int64) (*ack, error) {
	r, err := http.NewRequestWithContext(c.ctx, c.verb(), c.url.String(), nil)
	if err != nil {
		return nil, &Error{Code: bits.E_INVALIDARG, Context: bits.ContextRemoteFile, Protocol: "http", Err: err}
	}
	c.x.prepare(r)
	for k, vs := range hdr {
		r.Header[k] = vs
	}
	r.Header.Set(hdrPacketType, typ)
	r.ContentLength = size
	if size == 0 {
		// Every packet carries Content-Length ([MC-BUP] 2.2.1.1); for a
		// verb other than POST/PUT/PATCH Go writes "Content-Length: 0"
		// only for an empty body with an explicit identity encoding.
		r.Body, r.TransferEncoding = http.NoBody, []string{"identity"}
	}
	if body != nil {
		r.Body = body()
		r.GetBody = func() (io.ReadCloser, error) { return body(), nil }
	}
	c.arm(c.d.cfg.StallTimeout)
	resp, err := c.x.send(r)
	c.timer.Stop()
	if err != nil {
		return nil, c.classify(err)
	}
	defer drain(resp)
	return &ack{status: resp.StatusCode, header: resp.Header}, nil
}

// classify maps a failed packet like a failed download request.
func (c *uploadCall) classify(err error) error {
	if perr := c.parent.Err(); perr != nil {
		return fmt.Errorf("upload %s: %w", c.url.Redacted(), perr)
	}
	if errors.Is(context.Cause(c.ctx), errUploadStalled) {
		return remoteErr(bits.ERROR_WINHTTP_TIMEOUT, true, fmt.Errorf("%s: %w", c.url.Redacted(), errUploadStalled))
	}
	var te *Error
	if errors.As(err, &te) {
		return te
	}
	return classifyTransport(err)
}

// isAck reports a BITS Ack (any status).
func (a *ack) isAck() bool { return strings.EqualFold(a.header.Get(hdrPacketType), "Ack") }

// errorCode is the HRESULT of BITS-Error-Code (or [MC-BUP]'s BITS-Error); 0 if none.
func (a *ack) errorCode() bits.HRESULT {
	v := a.header.Get(hdrErrorCode)
	if v == "" {
		v = a.header.Get(hdrError)
	}
	return parseHex(v)
}

func parseHex(v string) bits.HRESULT {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(strings.TrimPrefix(v, "0x"), "0X")
	n, err := strconv.ParseUint(v, 16, 32)
	if err != nil {
		return 0
	}
	return bits.HRESULT(n)
}

// failure turns a non-success Ack into the job's error: the server's
// BITS-Error-Code and context (REMOTE_APPLICATION when it says 0x7,
// REMOTE_FILE otherwise), transient or fatal by BITS' status rule.
func (a *ack) failure(what string) *Error {
	ctx := bits.ContextRemoteFile
	if parseHex(a.header.Get(hdrErrorContext)) == 0x7 {
		ctx = bits.ContextRemoteApplication
	}
	code := a.errorCode()
	transient := bits.TransientHTTPStatus(a.status)
	switch {
	case !a.isAck() && a.status >= 200 && a.status <= 299:
		// A success that is no Ack: not a BITS server.
		code, transient = bits.BG_E_INVALID_SERVER_RESPONSE, false
	case !a.isAck():
		// Not a BITS server (or a proxy answering for it).
		code = bits.HTTPError(a.status)
	case code == 0 || !code.Failed():
		code = bits.HTTPError(a.status)
	case code == bits.BG_E_TOO_LARGE || code == bits.BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH:
		transient = false
	case code == bits.BG_E_SESSION_NOT_FOUND:
		transient = true
	}
	return &Error{Code: code, Context: ctx, Protocol: "http", Transient: transient,
		Err: fmt.Errorf("%s: HTTP status %d, BITS error %s, context %s", what, a.status, code.Hex(), ctx)}
}

func (a *ack) ok() bool {
	return (a.status == http.StatusOK || a.status == http.StatusCreated) && a.isAck()
}

// Upload implements Uploader.
func (d *HTTPDriver) Upload(ctx context.Context, req UploadRequest, t UploadTarget) (UploadResult, error) {
	c, done, err := d.newUploadCall(ctx, req)
	if err != nil {
		return UploadResult{}, err
	}
	defer done()
	frag := req.FragmentSize
	if frag <= 0 {
		frag = DefaultFragmentSize
	}
	// Ping first: it costs nothing and settles authentication before a
	// fragment's body would have to be sent twice.
	a, err := c.packet("Ping", nil, nil, 0)
	if err != nil {
		return UploadResult{}, err
	}
	if !a.ok() {
		return UploadResult{}, a.failure("Ping")
	}
	sid, off := req.SessionID, req.Offset
	if off < 0 || off > req.Size || sid == "" {
		off = 0
	}
	for created := 0; ; {
		if sid == "" {
			if created++; created > 3 {
				return UploadResult{}, remoteErr(bits.BG_E_SESSION_NOT_FOUND, true, errors.New("the server keeps losing new sessions"))
			}
			if sid, err = c.createSession(); err != nil {
				return UploadResult{}, err
			}
			off = 0
			if err := t.Session(sid); err != nil {
				return UploadResult{}, localErr(err)
			}
		}
		res, err := c.fragments(sid, off, frag, t)
		var te *Error
		if errors.As(err, &te) && te.Code == bits.BG_E_SESSION_NOT_FOUND {
			// The server forgot the session (restarted without its state,
			// another node of a farm, expired): start over.
			sid = ""
			continue
		}
		return res, err
	}
}

// createSession sends Create-Session and returns the new session id.
func (c *uploadCall) createSession() (string, error) {
	h := http.Header{}
	h.Set(hdrSupportedProtocols, UploadProtocol)
	if name := contentName(c.req.Name); name != "" {
		h.Set("Content-Name", name)
	}
	a, err := c.packet("Create-Session", h, nil, 0)
	if err != nil {
		return "", err
	}
	if !a.ok() {
		return "", a.failure("Create-Session")
	}
	if p := a.header.Get(hdrProtocol); !strings.EqualFold(strings.TrimSpace(p), UploadProtocol) {
		return "", remoteErr(bits.BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH, false, fmt.Errorf("the server chose protocol %q", p))
	}
	sid := strings.TrimSpace(a.header.Get(hdrSessionID))
	if sid == "" || len(sid) > 100 {
		return "", invalidReply(fmt.Errorf("the Create-Session Ack has session id %q", sid))
	}
	return sid, nil
}

// fragments sends the file from off in session sid until the server holds
// all of it.
func (c *uploadCall) fragments(sid string, off, frag int64, t UploadTarget) (UploadResult, error) {
	size := c.req.Size
	idle := 0 // Acks that acknowledged nothing beyond the one before
	for {
		if err := t.Check(); err != nil {
			return UploadResult{}, err
		}
		start, n := off, min(frag, size-off)
		if start >= size && size > 0 {
			// Every byte is acknowledged but the final Ack (and its reply
			// URL) was lost: resend the last byte, which the server
			// acknowledges again without writing anything.
			start, n = size-1, 1
		}
		h := http.Header{}
		h.Set(hdrSessionID, sid)
		if name := contentName(c.req.Name); name != "" {
			h.Set("Content-Name", name)
		}
		if size == 0 {
			h.Set("Content-Range", "bytes */0") // the one fragment of an empty file
		} else {
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+n-1, size))
		}
		var body func() io.ReadCloser
		if n > 0 { // a nil body: Go would send a zero-length one chunked
			body = func() io.ReadCloser {
				return &fragmentBody{r: io.NewSectionReader(c.req.Source, start, n), off: start, t: t, c: c}
			}
		}
		a, err := c.packet("Fragment", h, body, n)
		if err != nil {
			return UploadResult{}, err
		}
		switch {
		case a.ok(), a.status == http.StatusRequestedRangeNotSatisfiable && a.isAck():
			next, err := strconv.ParseInt(strings.TrimSpace(a.header.Get(hdrReceivedRange)), 10, 64)
			if err != nil || next < 0 || next > size {
				return UploadResult{}, invalidReply(fmt.Errorf("the Fragment Ack (status %d) has %s %q for a %d-byte file",
					a.status, hdrReceivedRange, a.header.Get(hdrReceivedRange), size))
			}
			if next <= off && !(a.ok() && next == size) {
				// A server that keeps acknowledging nothing new (or goes
				// back, or alternates) would hold the job forever.
				if idle++; idle >= maxIdleAcks {
					return UploadResult{}, invalidReply(fmt.Errorf("%d Fragment Acks acknowledged nothing new (the last: status %d, %s %q, sent from %d)",
						idle, a.status, hdrReceivedRange, a.header.Get(hdrReceivedRange), start))
				}
			}
			if err := t.Acked(next); err != nil {
				return UploadResult{}, localErr(err)
			}
			off = next
			if a.ok() && next == size {
				return UploadResult{SessionID: sid, ReplyURL: c.replyURL(a.header.Get(hdrReplyURL))}, nil
			}
		case a.status == http.StatusRequestEntityTooLarge && frag/2 >= MinFragmentSize:
			frag /= 2 // [MC-BUP] 3.1.5.1.7: smaller fragments
		default:
			return UploadResult{}, a.failure("Fragment")
		}
	}
}

// replyURL resolves a BITS-Reply-URL against the upload URL.
func (c *uploadCall) replyURL(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	u, err := c.url.Parse(v)
	if err != nil {
		return ""
	}
	return u.String()
}

// contentName keeps a file name fit for a header value.
func contentName(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, name)
}

// fragmentBody is a Fragment's body: it reports progress and keeps the
// stall timer armed while the transport reads it.
type fragmentBody struct {
	r   io.Reader
	off int64
	t   UploadTarget
	c   *uploadCall
}

func (b *fragmentBody) Read(p []byte) (int, error) {
	// The source may wait for the job's bandwidth cap: that is no stall.
	// The timer runs while the transport writes what was read.
	b.c.timer.Stop()
	n, err := b.r.Read(p)
	b.c.arm(b.c.d.cfg.StallTimeout)
	if n > 0 {
		b.off += int64(n)
		b.t.Sent(b.off)
	}
	if err == io.EOF {
		// The body is out: now the server writes it and answers.
		b.c.arm(max(b.c.d.cfg.AckTimeout, b.c.d.cfg.StallTimeout))
	}
	return n, err
}

func (b *fragmentBody) Close() error { return nil }

// CloseSession implements Uploader.
func (d *HTTPDriver) CloseSession(ctx context.Context, req UploadRequest) error {
	return d.endSession(ctx, req, "Close-Session")
}

// CancelSession implements Uploader.
func (d *HTTPDriver) CancelSession(ctx context.Context, req UploadRequest) error {
	return d.endSession(ctx, req, "Cancel-Session")
}

func (d *HTTPDriver) endSession(ctx context.Context, req UploadRequest, typ string) error {
	if req.SessionID == "" {
		return nil
	}
	c, done, err := d.newUploadCall(ctx, req)
	if err != nil {
		return err
	}
	defer done()
	h := http.Header{}
	h.Set(hdrSessionID, req.SessionID)
	a, err := c.packet(typ, h, nil, 0)
	if err != nil {
		return err
	}
	if a.ok() || (a.isAck() && a.errorCode() == bits.BG_E_SESSION_NOT_FOUND) {
		return nil
	}
	return a.failure(typ)
}

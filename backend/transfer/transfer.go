// Package transfer holds the drivers that move bytes: HTTP(S) and local files.
// Drivers only move bytes and classify failures; retry timing, scheduling,
// bandwidth and persistence belong to the engine.
package transfer

import (
	"context"
	"errors"
	"io"

	"ferry/backend/bits"
)

// Target receives one file's bytes. The engine implements it over the
// temporary file and checkpoints durable offsets between writes.
type Target interface {
	// Write appends at the current offset.
	io.Writer
	// Reset discards every byte written so far (offset back to 0). Drivers call
	// it before writing a whole body that replaces what was there, e.g. when
	// the remote file changed: two versions are never spliced.
	Reset() error
	// Sized reports the remote size (bits.SizeUnknown when unknown) and the
	// validator of the version being written. It is called before the first
	// Write of every response, and again whenever they change.
	Sized(v bits.Validator) error
}

// Options are a job's per-request settings.
type Options struct {
	Proxy         bits.ProxySettings
	CustomHeaders string // CRLF- or LF-separated "Name: value" lines
	Credentials   []bits.Credential
	// Dynamic is DYNAMIC_CONTENT: no size or range requirement; every
	// interruption restarts the file from byte 0.
	Dynamic bool
	// Method is a custom HTTP verb (SetHttpMethod) for downloads: one
	// request from byte 0, no HEAD and no Range. "" or GET: the default.
	Method string
	// SecurityFlags is the job's BG_SSL_* / BG_HTTP_REDIRECT_POLICY_* mask.
	SecurityFlags uint32
	// ClientCert is a client certificate for HTTPS (nil: none).
	ClientCert *bits.ClientCert
	// OnRedirect, when set, learns the final URL of a redirected download
	// under the ALLOW_REPORT policy, and the refused target under DISALLOW.
	OnRedirect func(finalURL string)
	// Yield, when set, is the job's rLEDBAT controller (yield.go): the
	// connections of its downloads use only idle bandwidth. Shared by every
	// connection of the job. nil: the job does not yield.
	Yield *Yielder
}

// Request asks for one file from Offset onwards.
type Request struct {
	URL string
	// Offset is the number of bytes already durable in the target; Validator
	// is the version they belong to (zero when Offset is 0).
	Offset    int64
	Validator bits.Validator
	Options   Options
	// Connections is how many connections the file may use (CONNECTIONS;
	// 0 or 1: one stream). More than one are used only with a RangeTarget
	// and a server whose first answer shows that ranges work.
	Connections int
	// Segments is the durable state of an earlier download in segments of
	// the version in Validator (nil: none; Offset then counts).
	Segments []bits.Segment
	// Ranges, when set, are AddFileWithRanges' byte ranges of the remote
	// file, written back to back (Offset counts the bytes of them held).
	// Only the HTTP driver has them; lengths may be bits.LengthToEOF.
	Ranges []bits.Range
	// Response, when set, is given the header block of every HTTP response
	// of the file (File5's HTTP_RESPONSE_HEADERS): the status line and the
	// header lines, CRLF-terminated, ending in an empty line.
	Response func(block string)
}

// Driver transfers one remote file into a Target.
type Driver interface {
	// Schemes lists the URL schemes handled ("http", "https", "file").
	Schemes() []string
	// Download writes the bytes of req.URL from req.Offset into t until the
	// end of the file. It returns nil when the whole file is in t, or an
	// *Error that says what failed and whether a retry can help.
	Download(ctx context.Context, req Request, t Target) error
}

// Error is a classified transfer failure.
type Error struct {
	Code      bits.HRESULT
	Context   bits.ErrorContext
	Protocol  string // "http" or "file"
	Transient bool   // BITS retries it after the minimum retry delay
	Err       error  // underlying cause, for logs
}

func (e *Error) Error() string { return bits.Line(e.Code, e.Detail()) }

// Detail is the cause's text (without a repeat of e's code), else the
// code's description (bits.Coded).
func (e *Error) Detail() string {
	if e.Err != nil {
		return bits.DetailFor(e.Code, e.Err)
	}
	return e.Code.Description()
}

// HResult is the code (bits.Coded).
func (e *Error) HResult() bits.HRESULT { return e.Code }

func (e *Error) Unwrap() error { return e.Err }

// AsError returns err as a classified *Error; unclassified errors become a
// transient GENERAL_TRANSPORT failure.
func AsError(err error) *Error {
	var te *Error
	if errors.As(err, &te) {
		return te
	}
	return &Error{Code: bits.E_FAIL, Context: bits.ContextGeneralTransport, Transient: true, Err: err}
}

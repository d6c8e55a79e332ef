package transfer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"ferry/backend/bits"
)

func remoteErr(code bits.HRESULT, transient bool, err error) *Error {
	return &Error{Code: code, Context: bits.ContextRemoteFile, Protocol: "http", Transient: transient, Err: err}
}

func transportErr(code bits.HRESULT, transient bool, err error) *Error {
	return &Error{Code: code, Context: bits.ContextGeneralTransport, Protocol: "http", Transient: transient, Err: err}
}

// statusErr is BG_E_HTTP_ERROR_xxx with BITS' transient/fatal rule (§4.3).
func statusErr(status int) *Error {
	return remoteErr(bits.HTTPError(status), bits.TransientHTTPStatus(status),
		fmt.Errorf("HTTP status %d %s", status, http.StatusText(status)))
}

// invalidReply: the server broke the range protocol; retrying the same
// server would only repeat it, so it is fatal.
func invalidReply(err error) *Error {
	return remoteErr(bits.BG_E_INVALID_SERVER_RESPONSE, false, err)
}

// localErr classifies a failure of the Target (the engine's temporary file)
// unless the engine already did.
func localErr(err error) error {
	var te *Error
	if errors.As(err, &te) {
		return te
	}
	e := &Error{Code: bits.E_FAIL, Context: bits.ContextLocalFile, Err: err}
	switch {
	case errors.Is(err, syscall.ENOSPC):
		e.Code = bits.ERROR_DISK_FULL
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EROFS):
		e.Code = bits.E_ACCESSDENIED
	}
	return e
}

// classify turns a session failure into the Driver contract: the caller's
// cancellation stays a plain wrapped ctx error, the rest becomes an *Error.
func (s *session) classify(err error) error {
	if perr := s.parent.Err(); perr != nil {
		return fmt.Errorf("download %s: %w", s.url, perr)
	}
	if errors.Is(context.Cause(s.ctx), errStalled) {
		return remoteErr(bits.ERROR_WINHTTP_TIMEOUT, true, fmt.Errorf("%s: %w", s.url, errStalled))
	}
	var te *Error
	if errors.As(err, &te) {
		return te
	}
	var be bodyError
	if errors.As(err, &be) {
		return remoteErr(bits.BG_E_CONNECTION_CLOSED, true, fmt.Errorf("%s at byte %d: %w", s.url, s.offset, err))
	}
	return classifyTransport(err)
}

// classifyTransport maps an error of http.Client.Do (before any response).
func classifyTransport(err error) *Error {
	var (
		dnsErr   *net.DNSError
		opErr    *net.OpError
		netErr   net.Error
		certErr  *tls.CertificateVerificationError
		authErr  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalErr x509.CertificateInvalidError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
	)
	switch {
	case errors.Is(err, errTooManyRedirects), errors.Is(err, errRedirectScheme), errors.Is(err, errRedirectInsecure):
		return remoteErr(bits.ERROR_WINHTTP_REDIRECT_FAILED, false, err)
	case clientCertRefused(err):
		return transportErr(bits.ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED, false, err)
	case errors.As(err, &certErr), errors.As(err, &authErr), errors.As(err, &hostErr),
		errors.As(err, &invalErr), errors.As(err, &recErr), errors.As(err, &alertErr):
		return transportErr(bits.ERROR_WINHTTP_SECURE_FAILURE, false, err)
	case errors.As(err, &dnsErr):
		return transportErr(bits.ERROR_WINHTTP_NAME_NOT_RESOLVED, true, err)
	}
	if status := proxyStatus(err); status != 0 {
		// A CONNECT refused by the proxy (e.g. 407) reaches us as text only.
		return transportErr(bits.HTTPError(status), bits.TransientHTTPStatus(status), err)
	}
	switch {
	case errors.As(err, &opErr) && (opErr.Op == "dial" || opErr.Op == "proxyconnect"),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return transportErr(bits.ERROR_WINHTTP_CANNOT_CONNECT, true, err)
	case errors.As(err, &netErr) && netErr.Timeout():
		return transportErr(bits.ERROR_WINHTTP_TIMEOUT, true, err)
	case strings.Contains(err.Error(), "malformed HTTP"):
		return transportErr(bits.ERROR_WINHTTP_INVALID_SERVER_RESPONSE, true, err)
	}
	// EOF, ECONNRESET, EPIPE and the rest: the connection broke.
	return transportErr(bits.ERROR_WINHTTP_CONNECTION_ERROR, true, err)
}

// proxyStatus finds the HTTP status of a failed CONNECT: net/http reports
// it as an error whose text is the status text ("Proxy Authentication Required").
func proxyStatus(err error) int {
	for e := err; e != nil; e = errors.Unwrap(e) {
		msg := e.Error()
		for _, code := range []int{http.StatusProxyAuthRequired, http.StatusForbidden,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
			if msg == http.StatusText(code) {
				return code
			}
		}
	}
	return 0
}

// clientCertRefused recognises the TLS alert of a server that wanted a
// (valid) client certificate: it reaches the client as a "remote error".
func clientCertRefused(err error) bool {
	var opErr *net.OpError
	if !errors.As(err, &opErr) || opErr.Op != "remote error" {
		return false
	}
	msg := opErr.Err.Error()
	return strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate") ||
		strings.Contains(msg, "unknown certificate authority")
}

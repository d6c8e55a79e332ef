package transfer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"ferry/backend/bits"
)

// The HTTP security flags of IBackgroundCopyJobHttpOptions::SetSecurityFlags
// (bits-reference §2, §7.5).
const (
	SecurityEnableCRLCheck         uint32 = 0x1
	SecurityIgnoreCertCNInvalid    uint32 = 0x2
	SecurityIgnoreCertDateInvalid  uint32 = 0x4
	SecurityIgnoreUnknownCA        uint32 = 0x8
	SecurityIgnoreCertWrongUsage   uint32 = 0x10
	RedirectPolicyAllowSilent      uint32 = 0x0
	RedirectPolicyAllowReport      uint32 = 0x100
	RedirectPolicyDisallow         uint32 = 0x200
	RedirectPolicyMask             uint32 = 0x700
	RedirectPolicyAllowHTTPSToHTTP uint32 = 0x800

	// certIgnoreFlags are the flags that relax certificate checks.
	certIgnoreFlags = SecurityIgnoreCertCNInvalid | SecurityIgnoreCertDateInvalid |
		SecurityIgnoreUnknownCA | SecurityIgnoreCertWrongUsage
	knownSecurityFlags = SecurityEnableCRLCheck | certIgnoreFlags | RedirectPolicyMask | RedirectPolicyAllowHTTPSToHTTP
)

// ValidSecurityFlags reports whether f holds only defined bits and a defined
// redirect policy (ALLOW_SILENT, ALLOW_REPORT or DISALLOW).
func ValidSecurityFlags(f uint32) bool {
	if f&^knownSecurityFlags != 0 {
		return false
	}
	switch f & RedirectPolicyMask {
	case RedirectPolicyAllowSilent, RedirectPolicyAllowReport, RedirectPolicyDisallow:
		return true
	}
	return false
}

// LoadClientCert reads a PEM certificate chain and its private key. The
// error is a *bits.Error: ERROR_FILE_NOT_FOUND, E_ACCESSDENIED or E_INVALIDARG.
func LoadClientCert(c *bits.ClientCert) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	switch {
	case err == nil:
		return cert, nil
	case errors.Is(err, fs.ErrNotExist):
		return cert, bits.Errorf(bits.ERROR_FILE_NOT_FOUND, "client certificate: %v", err)
	case errors.Is(err, fs.ErrPermission):
		return cert, bits.Errorf(bits.E_ACCESSDENIED, "client certificate: %v", err)
	}
	return cert, bits.Errorf(bits.E_INVALIDARG, "client certificate: %v", err)
}

// tlsTransport returns the transport for a job's TLS options: the shared one
// when the job relaxes no check and has no client certificate, else one
// leased from d.tls for this call (the caller returns it) whose verifier
// knows the host of the request in flight. Such transports are apart
// because a TLS verification callback does not see an IP literal host, and
// a relaxed connection must never be pooled for a job that did not ask for it.
func (d *HTTPDriver) tlsTransport(o Options) (http.RoundTripper, *leasedTransport, error) {
	ignore := o.SecurityFlags & certIgnoreFlags
	if ignore == 0 && o.ClientCert == nil {
		return d.client.Transport, nil, nil
	}
	base, ok := d.client.Transport.(*http.Transport)
	if !ok {
		return nil, nil, transportErr(bits.E_FAIL, false, errors.New("the HTTP transport cannot carry per-job TLS options"))
	}
	var cert *tls.Certificate
	if o.ClientCert != nil {
		// Loaded on every call: a missing or replaced file must show.
		c, err := LoadClientCert(o.ClientCert)
		if err != nil {
			var be *bits.Error
			errors.As(err, &be)
			return nil, nil, &Error{Code: be.Code, Context: bits.ContextLocalFile, Protocol: "http", Err: err}
		}
		cert = &c
	}
	key := tlsKey(ignore, cert)
	if lt := d.tls.get(key); lt != nil {
		return lt.tr, lt, nil
	}
	lt := &leasedTransport{key: key, host: &hostTracker{}}
	tr := base.Clone()
	cfg := tr.TLSClientConfig
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone()
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	if ignore != 0 {
		roots := cfg.RootCAs
		cfg.InsecureSkipVerify = true // replaced by the check below
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			// The SNI is the host the transport dialled; an IP literal
			// has none, and then the call's request in flight tells.
			host := cs.ServerName
			if host == "" {
				host = lt.host.get()
			}
			return verifyServer(cs.PeerCertificates, roots, host, ignore, time.Now())
		}
	}
	tr.TLSClientConfig = cfg
	lt.tr = tr
	return tr, lt, nil
}

// hostTracker is the host of the request in flight of the call holding a
// leased transport: its requests are sequential, so the next TLS handshake
// is for this host.
type hostTracker struct {
	mu   sync.Mutex
	host string
}

func (h *hostTracker) set(host string) {
	h.mu.Lock()
	h.host = host
	h.mu.Unlock()
}

func (h *hostTracker) get() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.host
}

// verifyServer is Go's certificate verification with the checks that the
// job's flags ignore left out: the host name (CN_INVALID), the validity
// period (DATE_INVALID), the issuer (UNKNOWN_CA) and the key usage
// (WRONG_USAGE). Every check that is not ignored still applies.
func verifyServer(certs []*x509.Certificate, roots *x509.CertPool, host string, ignore uint32, now time.Time) error {
	if len(certs) == 0 {
		return &tls.CertificateVerificationError{Err: errors.New("the server sent no certificate")}
	}
	leaf := certs[0]
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), DNSName: host,
		CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if ignore&SecurityIgnoreCertCNInvalid != 0 {
		opts.DNSName = ""
	}
	if ignore&SecurityIgnoreCertWrongUsage != 0 {
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	_, err := leaf.Verify(opts)
	var invalid x509.CertificateInvalidError
	if err != nil && ignore&SecurityIgnoreCertDateInvalid != 0 && errors.As(err, &invalid) && invalid.Reason == x509.Expired {
		// Verify at a moment the leaf was valid (its issuers normally
		// outlive it): only the dates are forgiven.
		for _, at := range []time.Time{leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2), leaf.NotAfter, leaf.NotBefore} {
			opts.CurrentTime = at
			if _, err = leaf.Verify(opts); err == nil {
				break
			}
		}
	}
	var unknown x509.UnknownAuthorityError
	if err != nil && ignore&SecurityIgnoreUnknownCA != 0 && errors.As(err, &unknown) {
		// No trusted issuer, and that is allowed: the leaf's own checks
		// remain, its dates only when they are not forgiven as well. (Which
		// failure Verify reports first differs: Go's own verifier says
		// Expired, Windows' says UnknownAuthority, so the date loop above
		// may not have run.)
		if ignore&SecurityIgnoreCertDateInvalid != 0 {
			opts.CurrentTime = leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
		}
		err = checkLeaf(leaf, opts)
	}
	if err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
	}
	return nil
}

// checkLeaf applies the host, date and usage checks of opts to leaf alone.
func checkLeaf(leaf *x509.Certificate, opts x509.VerifyOptions) error {
	if opts.DNSName != "" {
		if err := leaf.VerifyHostname(opts.DNSName); err != nil {
			return err
		}
	}
	if opts.CurrentTime.Before(leaf.NotBefore) || opts.CurrentTime.After(leaf.NotAfter) {
		return x509.CertificateInvalidError{Cert: leaf, Reason: x509.Expired,
			Detail: fmt.Sprintf("current time %s is outside %s – %s", opts.CurrentTime.UTC().Format(time.RFC3339),
				leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))}
	}
	if len(leaf.ExtKeyUsage) == 0 || opts.KeyUsages[0] == x509.ExtKeyUsageAny {
		return nil
	}
	for _, u := range leaf.ExtKeyUsage {
		if u == x509.ExtKeyUsageAny || u == x509.ExtKeyUsageServerAuth {
			return nil
		}
	}
	return x509.CertificateInvalidError{Cert: leaf, Reason: x509.IncompatibleUsage}
}

// errRedirectInsecure: an https URL redirected to plain http without
// BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP.
var errRedirectInsecure = errors.New("redirect from https to http refused (security flag ALLOW_HTTPS_TO_HTTP 0x800 is not set)")

// redirectPolicy is http.Client.CheckRedirect for one call: the driver's
// limits, BITS' https→http rule, and DISALLOW, which stops at the 3xx and
// remembers where it pointed. follow is false for the upload protocol,
// whose BITS_POST packets are never redirected.
func (x *exchange) redirectPolicy(maxRedirects int, follow bool) func(r *http.Request, via []*http.Request) error {
	return func(r *http.Request, via []*http.Request) error {
		if !follow {
			return http.ErrUseLastResponse
		}
		if len(via) > maxRedirects {
			return errTooManyRedirects
		}
		if r.URL.Scheme != "http" && r.URL.Scheme != "https" {
			return errRedirectScheme
		}
		if prev := via[len(via)-1]; prev.URL.Scheme == "https" && r.URL.Scheme == "http" &&
			x.opts.SecurityFlags&RedirectPolicyAllowHTTPSToHTTP == 0 {
			return errRedirectInsecure
		}
		if x.opts.SecurityFlags&RedirectPolicyMask == RedirectPolicyDisallow {
			x.mu.Lock()
			x.refused = r.URL.String()
			x.mu.Unlock()
			return http.ErrUseLastResponse
		}
		x.host.set(r.URL.Hostname())
		return nil
	}
}

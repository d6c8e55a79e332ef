package transfer

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"ferry/backend/bits"
)

// exchange is the HTTP machinery of one driver call (a Download or an
// Upload): the client with the job's TLS options and redirect policy, the
// proxy selector, the custom headers, and the credentials with the Digest
// challenges seen so far. Requests of one call are sequential.
type exchange struct {
	d       *HTTPDriver
	opts    Options
	sel     ProxySelector
	client  *http.Client
	lease   *leasedTransport // a per-job TLS transport to return, or nil
	failed  bool             // a request failed: the lease is not reused
	headers http.Header
	host    *hostTracker

	mu      sync.Mutex
	refused string // DISALLOW: where the refused redirect pointed

	server, proxy authSlot
}

// authSlot is the state of one target (server or proxy).
type authSlot struct {
	digest    *digestChallenge // last challenge answered, reused pre-emptively
	basicSent bool             // Basic credentials went out (so a 401 is final)
}

// newExchange prepares a call. follow is false for the upload protocol,
// whose packets are never redirected.
func (d *HTTPDriver) newExchange(o Options, follow bool) (*exchange, error) {
	sel, err := ProxyFunc(o.Proxy)
	if err != nil {
		return nil, err
	}
	x := &exchange{d: d, opts: o, sel: withProxyCredentials(sel, o.Credentials), headers: parseHeaderLines(o.CustomHeaders)}
	rt, lease, err := d.tlsTransport(o)
	if err != nil {
		return nil, err
	}
	x.lease, x.host = lease, &hostTracker{}
	if lease != nil {
		x.host = lease.host
	}
	x.client = &http.Client{Transport: rt, CheckRedirect: x.redirectPolicy(d.cfg.MaxRedirects, follow)}
	return x, nil
}

// close returns a leased transport for the job's next call. After a failed
// request it is dropped instead: a dial it started may still finish in the
// background, and its handshake must not read another call's host.
func (x *exchange) close() {
	switch {
	case x.lease == nil:
	case x.failed:
		x.lease.tr.CloseIdleConnections()
	default:
		x.d.tls.put(x.lease)
	}
}

// method is the verb of a download: the job's custom one or GET.
func (x *exchange) method() string {
	if x.opts.Method != "" {
		return x.opts.Method
	}
	return http.MethodGet
}

// customMethod reports a download with a verb other than GET.
func (o Options) customMethod() bool {
	return o.Method != "" && !strings.EqualFold(o.Method, http.MethodGet)
}

// prepare adds the job's custom headers, the User-Agent and the
// credentials that are sent without waiting for a challenge.
func (x *exchange) prepare(r *http.Request) {
	for k, vs := range x.headers {
		if k == "Host" {
			r.Host = vs[0]
			continue
		}
		r.Header[k] = append([]string(nil), vs...)
	}
	if r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", x.d.cfg.UserAgent)
	}
}

// authorize sets Authorization / Proxy-Authorization for r from the
// credentials and the challenges seen so far. Basic goes out at once when
// it is the only server scheme the job has (as before Digest existed);
// with Digest credentials too, Ferry waits for the server to choose.
func (x *exchange) authorize(r *http.Request) {
	basic, hasBasic := findCred(x.opts.Credentials, bits.AuthTargetServer, bits.AuthBasic)
	digest, hasDigest := findCred(x.opts.Credentials, bits.AuthTargetServer, bits.AuthDigest)
	switch {
	case hasDigest && x.server.digest != nil:
		r.Header.Set("Authorization", x.server.digest.authorization(digest.UserName, digest.Password, r.Method, r.URL.RequestURI()))
	case hasBasic && (!hasDigest || x.server.basicSent):
		r.SetBasicAuth(basic.UserName, basic.Password)
		x.server.basicSent = true
	}
	if pd, ok := findCred(x.opts.Credentials, bits.AuthTargetProxy, bits.AuthDigest); ok && x.proxy.digest != nil && x.viaPlainProxy(r) {
		r.Header.Set("Proxy-Authorization", x.proxy.digest.authorization(pd.UserName, pd.Password, r.Method, r.URL.String()))
	}
}

// viaPlainProxy reports a plain-http request that goes through a proxy: the
// only kind whose own headers the proxy sees (an https request tunnels
// through CONNECT, and its headers must never carry proxy credentials).
func (x *exchange) viaPlainProxy(r *http.Request) bool {
	if r.URL.Scheme != "http" {
		return false
	}
	u, err := x.sel(r)
	return err == nil && u != nil
}

// send sends r (answering Digest and Basic challenges), applies the
// redirect policy's outcome, and returns the response.
func (x *exchange) send(r *http.Request) (*http.Response, error) {
	start := r.URL.String()
	for round := 0; ; round++ {
		x.host.set(r.URL.Hostname())
		x.authorize(r)
		resp, err := x.client.Do(r)
		if err != nil {
			x.failed = true
			return nil, err
		}
		if round < 3 && x.challenged(resp, r) {
			next, ok := rewind(r)
			if ok {
				drain(resp)
				r = next
				continue
			}
		}
		x.mu.Lock()
		refused := x.refused
		x.refused = ""
		x.mu.Unlock()
		if refused != "" && resp.StatusCode >= 300 && resp.StatusCode <= 399 {
			drain(resp)
			if x.opts.OnRedirect != nil {
				x.opts.OnRedirect(refused)
			}
			// DISALLOW is fatal whatever the 3xx (bits-reference §7.5).
			return nil, remoteErr(bits.HTTPError(resp.StatusCode), false,
				fmt.Errorf("redirect to %s refused by the job's redirect policy (DISALLOW)", redactURL(refused)))
		}
		if final := resp.Request.URL.String(); final != start && x.opts.OnRedirect != nil &&
			x.opts.SecurityFlags&RedirectPolicyMask == RedirectPolicyAllowReport {
			x.opts.OnRedirect(final)
		}
		return resp, nil
	}
}

// challenged reads a 401/407 and reports whether answering it is worth a
// new round: a Digest challenge not answered yet (or a stale nonce), or a
// Basic challenge with Basic credentials not sent yet.
func (x *exchange) challenged(resp *http.Response, r *http.Request) bool {
	var slot *authSlot
	var target bits.AuthTarget
	var header string
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		slot, target, header = &x.server, bits.AuthTargetServer, "WWW-Authenticate"
	case http.StatusProxyAuthRequired:
		if !x.viaPlainProxy(r) {
			return false
		}
		slot, target, header = &x.proxy, bits.AuthTargetProxy, "Proxy-Authenticate"
	default:
		return false
	}
	chs := parseChallenges(resp.Header.Values(header))
	if _, ok := findCred(x.opts.Credentials, target, bits.AuthDigest); ok {
		if dc := bestDigest(chs); dc != nil {
			if slot.digest == nil || dc.stale || dc.nonce != slot.digest.nonce || dc.realm != slot.digest.realm {
				slot.digest = dc
				return true
			}
			return false // our answer to this very challenge was refused
		}
	}
	if target == bits.AuthTargetServer && !slot.basicSent {
		if _, ok := findCred(x.opts.Credentials, target, bits.AuthBasic); ok {
			for _, c := range chs {
				if c.scheme == "basic" {
					slot.basicSent = true
					return true
				}
			}
		}
	}
	return false
}

// rewind copies r for another round; a body must be re-readable.
func rewind(r *http.Request) (*http.Request, bool) {
	next := r.Clone(r.Context())
	if r.Body != nil && r.Body != http.NoBody {
		if r.GetBody == nil {
			return nil, false
		}
		b, err := r.GetBody()
		if err != nil {
			return nil, false
		}
		next.Body = b
	}
	return next, true
}

func findCred(creds []bits.Credential, target bits.AuthTarget, scheme bits.AuthScheme) (bits.Credential, bool) {
	for _, c := range creds {
		if c.Target == target && c.Scheme == scheme {
			return c, true
		}
	}
	return bits.Credential{}, false
}

// redactURL drops a password from a URL for messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}

// authChallenge is one challenge of a WWW-Authenticate/Proxy-Authenticate.
type authChallenge struct {
	scheme string            // lower case
	params map[string]string // names in lower case
}

// parseChallenges reads RFC 9110 challenges: several may share one header,
// each a scheme followed by comma-separated name=value parameters (values
// plain tokens or quoted strings).
func parseChallenges(headers []string) []authChallenge {
	var out []authChallenge
	for _, h := range headers {
		lx := lexer{s: h}
		cur := -1
		for {
			lx.skip(" \t,")
			if lx.eof() {
				break
			}
			tok := lx.token()
			if tok == "" {
				lx.i++ // not a token character: skip it
				continue
			}
			lx.skip(" \t")
			if lx.peek() == '=' {
				lx.i++
				lx.skip(" \t")
				var val string
				if lx.peek() == '"' {
					val = lx.quoted()
				} else {
					val = lx.token()
				}
				if cur >= 0 {
					out[cur].params[strings.ToLower(tok)] = val
				}
				continue
			}
			out = append(out, authChallenge{scheme: strings.ToLower(tok), params: map[string]string{}})
			cur = len(out) - 1
		}
	}
	return out
}

type lexer struct {
	s string
	i int
}

func (l *lexer) eof() bool { return l.i >= len(l.s) }

func (l *lexer) peek() byte {
	if l.eof() {
		return 0
	}
	return l.s[l.i]
}

func (l *lexer) skip(set string) {
	for !l.eof() && strings.IndexByte(set, l.s[l.i]) >= 0 {
		l.i++
	}
}

func isTchar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~/", c) >= 0
}

func (l *lexer) token() string {
	start := l.i
	for !l.eof() && isTchar(l.s[l.i]) {
		l.i++
	}
	return l.s[start:l.i]
}

// quoted reads a quoted-string (at the opening quote) and unescapes it.
func (l *lexer) quoted() string {
	l.i++
	var b strings.Builder
	for !l.eof() {
		c := l.s[l.i]
		l.i++
		switch c {
		case '\\':
			if !l.eof() {
				b.WriteByte(l.s[l.i])
				l.i++
			}
		case '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// digestChallenge is an RFC 7616 Digest challenge Ferry can answer.
type digestChallenge struct {
	realm, nonce, opaque string
	algorithm            string // as the server spelled it (MD5, SHA-256, ...-sess)
	newHash              func() hash.Hash
	sess                 bool
	qop                  string // "auth", or "" for an RFC 2069 challenge
	userhash             bool
	utf8                 bool
	stale                bool

	mu     sync.Mutex
	nc     uint32
	cnonce func() string // test hook; nil = random
}

// bestDigest picks the strongest Digest challenge Ferry supports: SHA-256
// before MD5, qop=auth (auth-int would need the body's hash up front).
func bestDigest(chs []authChallenge) *digestChallenge {
	var best *digestChallenge
	rank := 0
	for _, c := range chs {
		if c.scheme != "digest" || c.params["nonce"] == "" {
			continue
		}
		d := &digestChallenge{realm: c.params["realm"], nonce: c.params["nonce"], opaque: c.params["opaque"],
			algorithm: c.params["algorithm"], userhash: strings.EqualFold(c.params["userhash"], "true"),
			utf8: strings.EqualFold(c.params["charset"], "utf-8"), stale: strings.EqualFold(c.params["stale"], "true")}
		alg := strings.ToUpper(d.algorithm)
		if alg == "" {
			alg = "MD5"
		}
		r := 0
		switch strings.TrimSuffix(alg, "-SESS") {
		case "MD5":
			d.newHash, r = md5.New, 1
		case "SHA-256":
			d.newHash, r = sha256.New, 2
		default:
			continue
		}
		d.sess = strings.HasSuffix(alg, "-SESS")
		if q, ok := c.params["qop"]; ok {
			for _, v := range strings.Split(q, ",") {
				if strings.EqualFold(strings.TrimSpace(v), "auth") {
					d.qop = "auth"
				}
			}
			if d.qop == "" {
				continue // auth-int only
			}
		}
		if r > rank {
			best, rank = d, r
		}
	}
	return best
}

func (d *digestChallenge) h(parts ...string) string {
	hh := d.newHash()
	hh.Write([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(hh.Sum(nil))
}

// authorization answers the challenge for one request (RFC 7616 §3.4).
func (d *digestChallenge) authorization(user, pass, method, uri string) string {
	d.mu.Lock()
	d.nc++
	nc := fmt.Sprintf("%08x", d.nc)
	d.mu.Unlock()
	cnonce := ""
	if d.cnonce != nil {
		cnonce = d.cnonce()
	} else {
		var b [16]byte
		_, _ = rand.Read(b[:])
		cnonce = hex.EncodeToString(b[:])
	}
	ha1 := d.h(user, d.realm, pass)
	if d.sess {
		ha1 = d.h(ha1, d.nonce, cnonce)
	}
	ha2 := d.h(method, uri)
	var response string
	if d.qop == "" {
		response = d.h(ha1, d.nonce, ha2)
	} else {
		response = d.h(ha1, d.nonce, nc, cnonce, d.qop, ha2)
	}
	var b strings.Builder
	b.WriteString("Digest ")
	switch {
	case d.userhash:
		fmt.Fprintf(&b, "username=%s, userhash=true", quote(d.h(user, d.realm)))
	case isPlainASCII(user):
		fmt.Fprintf(&b, "username=%s", quote(user))
	default:
		fmt.Fprintf(&b, "username*=UTF-8''%s", url.PathEscape(user))
	}
	fmt.Fprintf(&b, ", realm=%s, uri=%s", quote(d.realm), quote(uri))
	if d.algorithm != "" {
		fmt.Fprintf(&b, ", algorithm=%s", d.algorithm)
	}
	fmt.Fprintf(&b, ", nonce=%s", quote(d.nonce))
	if d.qop != "" {
		fmt.Fprintf(&b, ", nc=%s, cnonce=%s, qop=%s", nc, quote(cnonce), d.qop)
	}
	fmt.Fprintf(&b, ", response=%s", quote(response))
	if d.opaque != "" {
		fmt.Fprintf(&b, ", opaque=%s", quote(d.opaque))
	}
	return b.String()
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

package transfer

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testenv"
	"ferry/backend/uploadserver"
)

// The examples of RFC 7616 §3.9.1.
func TestDigestRFC7616Vectors(t *testing.T) {
	for _, tc := range []struct{ alg, want string }{
		{"MD5", "8ca523f5e9506fed4657c9700eebdbec"},
		{"SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	} {
		chs := parseChallenges([]string{fmt.Sprintf(`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=%s, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`, tc.alg)})
		d := bestDigest(chs)
		if d == nil {
			t.Fatalf("%s: no usable challenge in %+v", tc.alg, chs)
		}
		d.cnonce = func() string { return "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ" }
		got := d.authorization("Mufasa", "Circle of Life", "GET", "/dir/index.html")
		if !strings.Contains(got, `response="`+tc.want+`"`) || !strings.Contains(got, "nc=00000001") ||
			!strings.Contains(got, "qop=auth,") || !strings.Contains(got, `opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`) {
			t.Fatalf("%s: %s", tc.alg, got)
		}
	}
}

func TestParseChallenges(t *testing.T) {
	chs := parseChallenges([]string{`Basic realm="simple", Digest realm="a, b", nonce="n\"1", qop="auth-int", algorithm=MD5`,
		`Digest realm="x", nonce="n2", algorithm=SHA-256, qop="auth", stale=TRUE, Negotiate`, `Newauth realm="apps", type=1, title="Login to \"apps\""`})
	if len(chs) != 5 {
		t.Fatalf("%d challenges: %+v", len(chs), chs)
	}
	if chs[0].scheme != "basic" || chs[1].params["realm"] != "a, b" || chs[1].params["nonce"] != `n"1` || chs[3].scheme != "negotiate" || chs[4].params["title"] != `Login to "apps"` {
		t.Fatalf("%+v", chs)
	}
	// auth-int only cannot be answered; the SHA-256 one can, and is stale.
	d := bestDigest(chs)
	if d == nil || d.nonce != "n2" || !d.stale {
		t.Fatalf("best %+v", d)
	}
	if bestDigest(chs[:2]) != nil {
		t.Fatal("an auth-int-only challenge was accepted")
	}
}

var digestParam = regexp.MustCompile(`(\w+\*?)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))`)

// digestGuard is a test server's (or proxy's) Digest authentication,
// written from RFC 7616 independently of the client code.
type digestGuard struct {
	realm, user, pass, alg string
	proxy                  bool
	staleEvery             int // a fresh nonce (stale=true) after this many requests
	next                   http.Handler

	mu      sync.Mutex
	nonce   int
	uses    int
	refused int
	basic   int // Basic credentials seen
}

func (g *digestGuard) h(s string) string {
	var hh hash.Hash = md5.New()
	if strings.HasPrefix(g.alg, "SHA-256") {
		hh = sha256.New()
	}
	hh.Write([]byte(s))
	return hex.EncodeToString(hh.Sum(nil))
}

func (g *digestGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr, chal, code := "Authorization", "WWW-Authenticate", http.StatusUnauthorized
	if g.proxy {
		hdr, chal, code = "Proxy-Authorization", "Proxy-Authenticate", http.StatusProxyAuthRequired
	}
	g.mu.Lock()
	a := r.Header.Get(hdr)
	if strings.HasPrefix(a, "Basic ") {
		g.basic++
	}
	ok, stale := g.verify(r, a)
	if ok {
		g.uses++
		if g.staleEvery > 0 && g.uses%g.staleEvery == 0 {
			g.nonce++ // the nonce used from now on is stale
		}
	} else {
		g.refused++
	}
	nonce := fmt.Sprintf("nonce-%d", g.nonce)
	g.mu.Unlock()
	if !ok {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Add(chal, `Basic realm="fallback"`)
		w.Header().Add(chal, fmt.Sprintf(`Digest realm="%s", qop="auth", algorithm=%s, nonce="%s", opaque="opq", stale=%v`, g.realm, g.alg, nonce, stale))
		w.WriteHeader(code)
		return
	}
	g.next.ServeHTTP(w, r)
}

// verify checks a Digest answer (caller holds mu); stale reports a right
// answer to an old nonce.
func (g *digestGuard) verify(r *http.Request, a string) (ok, stale bool) {
	rest, found := strings.CutPrefix(a, "Digest ")
	if !found {
		return false, false
	}
	p := map[string]string{}
	for _, m := range digestParam.FindAllStringSubmatch(rest, -1) {
		p[m[1]] = strings.ReplaceAll(m[2]+m[3], `\"`, `"`)
	}
	if p["username"] != g.user || p["realm"] != g.realm || p["uri"] != r.RequestURI || p["qop"] != "auth" || p["opaque"] != "opq" {
		return false, false
	}
	ha1 := g.h(g.user + ":" + g.realm + ":" + g.pass)
	if strings.HasSuffix(g.alg, "-sess") {
		ha1 = g.h(ha1 + ":" + p["nonce"] + ":" + p["cnonce"])
	}
	want := g.h(strings.Join([]string{ha1, p["nonce"], p["nc"], p["cnonce"], "auth", g.h(r.Method + ":" + p["uri"])}, ":"))
	if p["response"] != want {
		return false, false
	}
	if p["nonce"] != fmt.Sprintf("nonce-%d", g.nonce) {
		return false, true
	}
	return true, false
}

// content serves body with HEAD, Range and validators.
func content(body []byte) http.Handler {
	mod := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", mod, bytes.NewReader(body))
	})
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func creds(c ...bits.Credential) Options { return Options{Credentials: c} }

func TestDigestDownload(t *testing.T) {
	body := randomBytes(3*mb + 5)
	for _, alg := range []string{"MD5", "SHA-256", "MD5-sess", "SHA-256-sess"} {
		g := &digestGuard{realm: "ferry@test", user: "ann", pass: "s3cret: \"quoted\"", alg: alg, staleEvery: 2, next: content(body)}
		srv := httptest.NewServer(g)
		good := bits.Credential{Target: bits.AuthTargetServer, Scheme: bits.AuthDigest, UserName: "ann", Password: g.pass}
		basic := bits.Credential{Target: bits.AuthTargetServer, Scheme: bits.AuthBasic, UserName: "ann", Password: g.pass}
		m := newTarget(t)
		if err := run(t, testHTTP(), Request{URL: srv.URL + "/f.bin", Options: creds(good, basic)}, m); err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		wantBytes(t, m.bytes(), body)
		if g.basic != 0 {
			t.Fatalf("%s: the password went out as Basic although the server offers Digest", alg)
		}
		// One challenge for the first request, one per stale nonce at most.
		if g.refused > 2 {
			t.Fatalf("%s: %d refused requests", alg, g.refused)
		}
		bad := good
		bad.Password = "wrong"
		wantCode(t, run(t, testHTTP(), Request{URL: srv.URL + "/f.bin", Options: creds(bad)}, newTarget(t)), bits.HTTPError(401), false, bits.ContextRemoteFile)
		wantCode(t, run(t, testHTTP(), Request{URL: srv.URL + "/f.bin"}, newTarget(t)), bits.HTTPError(401), false, bits.ContextRemoteFile)
		srv.Close()
	}
}

func TestDigestProxy(t *testing.T) {
	body := randomBytes(200 << 10)
	// A "proxy" that demands Digest and then answers for the origin.
	g := &digestGuard{realm: "proxy", user: "pat", pass: "pw", alg: "SHA-256", proxy: true, next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Host == "" {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		content(body).ServeHTTP(w, r)
	})}
	proxy := httptest.NewServer(g)
	defer proxy.Close()
	o := Options{Proxy: bits.ProxySettings{Usage: bits.ProxyOverride, List: strings.TrimPrefix(proxy.URL, "http://")},
		Credentials: []bits.Credential{{Target: bits.AuthTargetProxy, Scheme: bits.AuthDigest, UserName: "pat", Password: "pw"}}}
	m := newTarget(t)
	if err := run(t, testHTTP(), Request{URL: "http://origin.invalid/p.bin", Options: o}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), body)
	o.Credentials[0].Password = "nope"
	wantCode(t, run(t, testHTTP(), Request{URL: "http://origin.invalid/p.bin", Options: o}, newTarget(t)), bits.HTTPError(407), false, bits.ContextRemoteFile)
}

func TestDigestUpload(t *testing.T) {
	us, err := uploadserver.New(uploadserver.Config{Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer us.Close()
	var mu sync.Mutex
	var seen []string
	g := &digestGuard{realm: "uploads", user: "uma", pass: "pw", alg: "SHA-256", next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("BITS-Packet-Type"))
		mu.Unlock()
		us.ServeHTTP(w, r)
	})}
	srv := httptest.NewServer(g)
	defer srv.Close()
	data := randomBytes(9*mb + 3)
	o := creds(bits.Credential{Target: bits.AuthTargetServer, Scheme: bits.AuthDigest, UserName: "uma", Password: "pw"})
	mt := &memUpload{}
	res, err := testHTTP().Upload(t.Context(), UploadRequest{URL: srv.URL + "/d/u.bin", Options: o, Source: bytes.NewReader(data),
		Size: int64(len(data)), Name: "u.bin", FragmentSize: 2 * mb}, mt)
	if err != nil {
		t.Fatal(err)
	}
	if res.ReplyURL == "" || mt.acked != int64(len(data)) {
		t.Fatalf("result %+v, acked %d", res, mt.acked)
	}
	// Only the Ping met the challenge: no fragment body went out twice.
	if g.refused != 1 {
		t.Fatalf("%d refused packets, want 1 (the Ping)", g.refused)
	}
	if err := testHTTP().CloseSession(t.Context(), UploadRequest{URL: srv.URL + "/d/u.bin", Options: o, SessionID: res.SessionID}); err != nil {
		t.Fatal(err)
	}
	if us.OpenSessions() != 0 {
		t.Fatal("session not closed")
	}
}

func TestNginxBasicAuth(t *testing.T) {
	dir := t.TempDir()
	body := randomBytes(1*mb + 77)
	if err := os.WriteFile(filepath.Join(dir, "secret.bin"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	base := testenv.NginxBasicAuth(t, dir, "bob", "hunter2")
	cred := bits.Credential{Target: bits.AuthTargetServer, Scheme: bits.AuthBasic, UserName: "bob", Password: "hunter2"}
	m := newTarget(t)
	if err := run(t, testHTTP(), Request{URL: base + "/secret.bin", Options: creds(cred)}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), body)
	// Resume with If-Range works behind auth too.
	m.buf = m.buf[:len(m.buf)/2]
	if err := run(t, testHTTP(), m.resume(base+"/secret.bin", creds(cred)), m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), body)
	cred.Password = "hunter3"
	wantCode(t, run(t, testHTTP(), Request{URL: base + "/secret.bin", Options: creds(cred)}, newTarget(t)), bits.HTTPError(401), false, bits.ContextRemoteFile)
	wantCode(t, run(t, testHTTP(), Request{URL: base + "/secret.bin"}, newTarget(t)), bits.HTTPError(401), false, bits.ContextRemoteFile)
	// Digest credentials alone do not answer nginx's Basic challenge.
	dg := bits.Credential{Target: bits.AuthTargetServer, Scheme: bits.AuthDigest, UserName: "bob", Password: "hunter2"}
	wantCode(t, run(t, testHTTP(), Request{URL: base + "/secret.bin", Options: creds(dg)}, newTarget(t)), bits.HTTPError(401), false, bits.ContextRemoteFile)
	// With both, Basic goes out when the server asks for it.
	cred.Password = "hunter2"
	m = newTarget(t)
	if err := run(t, testHTTP(), Request{URL: base + "/secret.bin", Options: creds(dg, cred)}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), body)
}

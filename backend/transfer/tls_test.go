package transfer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Ferry test CA"},
		NotBefore: time.Now().Add(-30 * 24 * time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue makes a leaf for 127.0.0.1 with the given validity and usage.
func (ca *testCA) issue(t *testing.T, notBefore, notAfter time.Time, usage ...x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: notBefore, NotAfter: notAfter, ExtKeyUsage: usage, KeyUsage: x509.KeyUsageDigitalSignature,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"ferry.test"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// writePEM stores a certificate and its key as PEM files.
func writePEM(t *testing.T, c tls.Certificate) *bits.ClientCert {
	t.Helper()
	dir := t.TempDir()
	kb, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	cc := &bits.ClientCert{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	if err := os.WriteFile(cc.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cc.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cc
}

func tlsServer(t *testing.T, cert tls.Certificate, h http.Handler, cfg func(*tls.Config)) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if cfg != nil {
		cfg(srv.TLS)
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func trusting(pool *x509.CertPool) *HTTPDriver {
	return NewHTTP(HTTPConfig{StallTimeout: time.Second, ConnectTimeout: 2 * time.Second, TLSConfig: &tls.Config{RootCAs: pool}})
}

func flags(f uint32) Options { return Options{SecurityFlags: f} }

func TestTLSSelfSignedNeedsTheIgnoreFlags(t *testing.T) {
	srv := testsrv.NewTLS(t)
	srv.Handle("/f.bin", testsrv.File{Size: 300 << 10})
	url := srv.URL("/f.bin")
	wantCode(t, run(t, testHTTP(), Request{URL: url}, newTarget(t)), bits.ERROR_WINHTTP_SECURE_FAILURE, false, bits.ContextGeneralTransport)
	// Only the issuer is unknown: IGNORE_UNKNOWN_CA is enough.
	m := newTarget(t)
	d := testHTTP()
	if err := run(t, d, Request{URL: url, Options: flags(SecurityIgnoreUnknownCA)}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
	// The relaxed connection is never reused for a job without the flag.
	wantCode(t, run(t, d, Request{URL: url}, newTarget(t)), bits.ERROR_WINHTTP_SECURE_FAILURE, false, bits.ContextGeneralTransport)
	// By a name the certificate does not carry, the host check remains...
	byName := strings.Replace(url, "127.0.0.1", "localhost", 1)
	wantCode(t, run(t, d, Request{URL: byName, Options: flags(SecurityIgnoreUnknownCA)}, newTarget(t)), bits.ERROR_WINHTTP_SECURE_FAILURE, false, bits.ContextGeneralTransport)
	// ...unless IGNORE_CERT_CN_INVALID is set too.
	m = newTarget(t)
	if err := run(t, d, Request{URL: byName, Options: flags(SecurityIgnoreUnknownCA | SecurityIgnoreCertCNInvalid)}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
}

func TestTLSDateUsageAndNameFlags(t *testing.T) {
	ca := newCA(t)
	body := randomBytes(100 << 10)
	now := time.Now()
	expired := tlsServer(t, ca.issue(t, now.Add(-48*time.Hour), now.Add(-24*time.Hour), x509.ExtKeyUsageServerAuth), content(body), nil)
	clientOnly := tlsServer(t, ca.issue(t, now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageClientAuth), content(body), nil)
	good := tlsServer(t, ca.issue(t, now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageServerAuth), content(body), nil)
	d := trusting(ca.pool)
	for _, tc := range []struct {
		name  string
		url   string
		flags uint32
		ok    bool
	}{
		{"good", good.URL, 0, true},
		{"good by another name", strings.Replace(good.URL, "127.0.0.1", "localhost", 1), 0, false},
		{"good by another name, CN ignored", strings.Replace(good.URL, "127.0.0.1", "localhost", 1), SecurityIgnoreCertCNInvalid, true},
		{"expired", expired.URL, 0, false},
		{"expired, unknown CA ignored", expired.URL, SecurityIgnoreUnknownCA, false},
		{"expired, date ignored", expired.URL, SecurityIgnoreCertDateInvalid, true},
		{"client usage", clientOnly.URL, 0, false},
		{"client usage, usage ignored", clientOnly.URL, SecurityIgnoreCertWrongUsage, true},
	} {
		m := newTarget(t)
		err := run(t, d, Request{URL: tc.url + "/x", Options: flags(tc.flags)}, m)
		if tc.ok {
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			wantBytes(t, m.bytes(), body)
			continue
		}
		wantCode(t, err, bits.ERROR_WINHTTP_SECURE_FAILURE, false, bits.ContextGeneralTransport)
	}
	// Unknown issuer and expired: both flags are needed.
	untrusted := testHTTP()
	wantCode(t, run(t, untrusted, Request{URL: expired.URL + "/x", Options: flags(SecurityIgnoreUnknownCA)}, newTarget(t)), bits.ERROR_WINHTTP_SECURE_FAILURE, false, bits.ContextGeneralTransport)
	if err := run(t, untrusted, Request{URL: expired.URL + "/x", Options: flags(SecurityIgnoreUnknownCA | SecurityIgnoreCertDateInvalid)}, newTarget(t)); err != nil {
		t.Fatal(err)
	}
}

func TestTLSClientCertificate(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	body := randomBytes(64 << 10)
	srv := tlsServer(t, ca.issue(t, now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageServerAuth), content(body), func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = ca.pool
	})
	d := trusting(ca.pool)
	wantCode(t, run(t, d, Request{URL: srv.URL + "/x"}, newTarget(t)), bits.ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED, false, bits.ContextGeneralTransport)
	cc := writePEM(t, ca.issue(t, now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageClientAuth))
	m := newTarget(t)
	if err := run(t, d, Request{URL: srv.URL + "/x", Options: Options{ClientCert: cc}}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), body)
	// A certificate from another CA is refused by the server.
	other := writePEM(t, newCA(t).issue(t, now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageClientAuth))
	wantCode(t, run(t, d, Request{URL: srv.URL + "/x", Options: Options{ClientCert: other}}, newTarget(t)), bits.ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED, false, bits.ContextGeneralTransport)
	// A missing key file is a local failure.
	gone := &bits.ClientCert{CertFile: cc.CertFile, KeyFile: cc.KeyFile + ".missing"}
	wantCode(t, run(t, d, Request{URL: srv.URL + "/x", Options: Options{ClientCert: gone}}, newTarget(t)), bits.ERROR_FILE_NOT_FOUND, false, bits.ContextLocalFile)
	if _, err := LoadClientCert(gone); bits.CodeOf(err) != bits.ERROR_FILE_NOT_FOUND {
		t.Fatalf("LoadClientCert: %v", err)
	}
	if _, err := LoadClientCert(&bits.ClientCert{CertFile: cc.KeyFile, KeyFile: cc.KeyFile}); bits.CodeOf(err) != bits.E_INVALIDARG {
		t.Fatalf("LoadClientCert of a key as certificate: %v", err)
	}
}

func TestValidSecurityFlags(t *testing.T) {
	for f, ok := range map[uint32]bool{0: true, 0x1: true, 0x1E: true, 0x100: true, 0x200: true, 0x800: true, 0x91F: true, 0xB1F: false,
		0x300: false, 0x400: false, 0x700: false, 0x20: false, 0x1000: false, 0x80000000: false} {
		if ValidSecurityFlags(f) != ok {
			t.Errorf("ValidSecurityFlags(0x%X) = %v", f, !ok)
		}
	}
}

// redirects records OnRedirect calls.
type redirects struct {
	mu   sync.Mutex
	urls []string
}

func (r *redirects) on(u string) {
	r.mu.Lock()
	r.urls = append(r.urls, u)
	r.mu.Unlock()
}

func (r *redirects) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.urls...)
}

func TestRedirectPolicies(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/final.bin", testsrv.File{Size: 50 << 10})
	srv.Handle("/moved", testsrv.File{RedirectTo: "/final.bin"})
	want := srv.Body("/final.bin")
	for _, tc := range []struct {
		name   string
		policy uint32
		report bool
	}{{"silent", RedirectPolicyAllowSilent, false}, {"report", RedirectPolicyAllowReport, true}} {
		rd := &redirects{}
		m := newTarget(t)
		if err := run(t, testHTTP(), Request{URL: srv.URL("/moved"), Options: Options{SecurityFlags: tc.policy, OnRedirect: rd.on}}, m); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wantBytes(t, m.bytes(), want)
		got := rd.list()
		if tc.report != (len(got) > 0) || (tc.report && got[0] != srv.URL("/final.bin")) {
			t.Fatalf("%s: OnRedirect calls %v", tc.name, got)
		}
	}
	rd := &redirects{}
	m := newTarget(t)
	wantCode(t, run(t, testHTTP(), Request{URL: srv.URL("/moved"), Options: Options{SecurityFlags: RedirectPolicyDisallow, OnRedirect: rd.on}}, m),
		bits.HTTPError(302), false, bits.ContextRemoteFile)
	if got := rd.list(); len(got) != 1 || got[0] != srv.URL("/final.bin") || len(m.bytes()) != 0 {
		t.Fatalf("DISALLOW: OnRedirect %v, %d bytes written", got, len(m.bytes()))
	}
	// 308 is transient by the status rule, but DISALLOW is always fatal.
	perm := httptest.NewServer(http.RedirectHandler(srv.URL("/final.bin"), http.StatusPermanentRedirect))
	defer perm.Close()
	wantCode(t, run(t, testHTTP(), Request{URL: perm.URL + "/x", Options: flags(RedirectPolicyDisallow)}, newTarget(t)),
		bits.HTTPError(308), false, bits.ContextRemoteFile)
}

func TestRedirectHTTPSToHTTP(t *testing.T) {
	plain := testsrv.New(t)
	plain.Handle("/f.bin", testsrv.File{Size: 10 << 10})
	secure := testsrv.NewTLS(t)
	secure.Handle("/down", testsrv.File{RedirectTo: plain.URL("/f.bin")})
	wantCode(t, run(t, testHTTP(), Request{URL: secure.URL("/down"), Options: flags(SecurityIgnoreUnknownCA)}, newTarget(t)),
		bits.ERROR_WINHTTP_REDIRECT_FAILED, false, bits.ContextRemoteFile)
	m := newTarget(t)
	if err := run(t, testHTTP(), Request{URL: secure.URL("/down"), Options: flags(SecurityIgnoreUnknownCA | RedirectPolicyAllowHTTPSToHTTP)}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), plain.Body("/f.bin"))
}

func TestCustomMethodAndHeaders(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	body := randomBytes(70 << 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(r.Context()))
		mu.Unlock()
		if r.Method != "REPORT" {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	m := newTarget(t)
	o := Options{Method: "REPORT", CustomHeaders: "X-Query: q=1\r\nAuthorization-Hint: none"}
	if err := run(t, testHTTP(), Request{URL: srv.URL + "/r", Options: o}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), body)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].Method != "REPORT" || seen[0].Header.Get("Range") != "" ||
		seen[0].Header.Get("X-Query") != "q=1" || seen[0].Header.Get("Authorization-Hint") != "none" {
		t.Fatalf("requests: %d, first %s %v", len(seen), seen[0].Method, seen[0].Header)
	}
}

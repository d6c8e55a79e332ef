package transfer

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// fetchAll downloads n files of srv with opts, one after another as the
// files of one job go, and checks each.
func fetchAll(t *testing.T, d *HTTPDriver, srv *testsrv.Server, n int, opts Options) {
	t.Helper()
	for i := range n {
		path := fmt.Sprintf("/f%03d.bin", i)
		srv.Handle(path, testsrv.File{Size: 16 << 10})
		m := newTarget(t)
		if err := run(t, d, Request{URL: srv.URL(path), Options: opts}, m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		wantBytes(t, m.bytes(), srv.Body(path))
	}
}

// Issue 8: the files of a job share kept-alive connections, and each costs
// one request (no HEAD).
func TestHTTPFilesOfAJobReuseConnections(t *testing.T) {
	srv := testsrv.New(t)
	fetchAll(t, testHTTP(), srv, 50, Options{CustomHeaders: "X-Job: 1"})
	if c := srv.Conns(); c > 2 {
		t.Fatalf("50 files took %d connections, want at most 2", c)
	}
	if r := len(srv.Requests("")); r != 50 {
		t.Fatalf("50 files took %d requests", r)
	}
}

// Jobs with their own TLS options get transports of their own, which are
// kept between calls: still one handshake for many files, and a relaxed
// connection is never handed to a job that did not relax the same checks.
func TestHTTPJobTLSOptionsReuseConnections(t *testing.T) {
	srv := testsrv.NewTLS(t)
	d := testHTTP()
	relaxed := flags(SecurityIgnoreUnknownCA)
	fetchAll(t, d, srv, 50, relaxed)
	if c := srv.Conns(); c > 2 {
		t.Fatalf("50 files took %d connections, want at most 2", c)
	}
	// The self-signed server is refused to a job without the flag, though
	// relaxed connections to it sit in the driver's pools.
	srv.Handle("/strict", testsrv.File{Size: 100})
	wantCode(t, run(t, d, Request{URL: srv.URL("/strict")}, newTarget(t)), bits.ERROR_WINHTTP_SECURE_FAILURE, false, bits.ContextGeneralTransport)
	wantCode(t, run(t, d, Request{URL: srv.URL("/strict"), Options: flags(SecurityIgnoreCertDateInvalid)}, newTarget(t)),
		bits.ERROR_WINHTTP_SECURE_FAILURE, false, bits.ContextGeneralTransport)
	// A failed call's transport is dropped, not pooled; the relaxed one
	// still serves its job.
	if d.tls.get(tlsKey(SecurityIgnoreCertDateInvalid, nil)) != nil {
		t.Fatal("the transport of a failed call was pooled")
	}
	before := srv.Conns()
	fetchAll(t, d, srv, 3, relaxed)
	if c := srv.Conns() - before; c > 1 {
		t.Fatalf("3 more files took %d new connections", c)
	}
	d.CloseIdleConnections()
	fetchAll(t, d, srv, 1, relaxed)
	if srv.Conns() == before {
		t.Fatal("CloseIdleConnections kept the pooled connection")
	}
}

// A client certificate: one TLS session for all the files of the job.
func TestHTTPClientCertReusesConnections(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	var mu sync.Mutex
	remotes := map[string]bool{}
	body := content(randomBytes(16 << 10))
	srv := tlsServer(t, ca.issue(t, now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageServerAuth),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			remotes[r.RemoteAddr] = true
			mu.Unlock()
			body.ServeHTTP(w, r)
		}), func(c *tls.Config) {
			c.ClientAuth = tls.RequireAndVerifyClientCert
			c.ClientCAs = ca.pool
		})
	d := trusting(ca.pool)
	opts := Options{ClientCert: writePEM(t, ca.issue(t, now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageClientAuth))}
	for i := range 30 {
		if err := run(t, d, Request{URL: fmt.Sprintf("%s/%d", srv.URL, i), Options: opts}, newTarget(t)); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(remotes) > 2 {
		t.Fatalf("30 files took %d connections", len(remotes))
	}
}

func TestTLSPoolEvictsTheLeastRecentlyUsed(t *testing.T) {
	var p tlsPool
	lts := make([]*leasedTransport, maxIdleTransports+1)
	for i := range lts {
		lts[i] = &leasedTransport{key: fmt.Sprint(i), tr: &http.Transport{}, host: &hostTracker{}}
		p.put(lts[i])
	}
	if p.get("0") != nil {
		t.Fatal("the oldest transport was kept past the limit")
	}
	if p.get("1") != lts[1] || p.get("1") != nil {
		t.Fatal("a transport was not leased exactly once")
	}
	if tlsKey(SecurityIgnoreUnknownCA, nil) == tlsKey(SecurityIgnoreCertCNInvalid, nil) {
		t.Fatal("different flags share a key")
	}
}

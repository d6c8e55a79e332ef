package engine

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
	"ferry/backend/transfer"
)

func TestSecurityFlagsSetter(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.job("sec", "http://example.invalid/f", h.path("f"))
	f, err := h.m.GetSecurityFlags(id)
	h.must(err)
	if f != 0 {
		t.Fatalf("default flags 0x%X", f)
	}
	for _, bad := range []uint32{0x20, 0x300, 0x400, 0x1000, 0xFFFFFFFF} {
		wantCode(t, h.m.SetSecurityFlags(id, bad), bits.E_NOTIMPL)
	}
	h.must(h.m.SetSecurityFlags(id, transfer.SecurityIgnoreUnknownCA|transfer.RedirectPolicyAllowReport))
	h.restart()
	f, err = h.m.GetSecurityFlags(id)
	h.must(err)
	if f != 0x108 {
		t.Fatalf("flags after restart 0x%X", f)
	}
}

// writeSelfSigned writes a certificate and key as PEM files.
func writeSelfSigned(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "ferry client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	cert, keyFile := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, keyFile
}

func TestClientCertificateSetters(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.job("cert", "https://example.invalid/f", h.path("f"))
	cert, key := writeSelfSigned(t, h.dir)
	wantCode(t, h.m.SetClientCertificate(id, "client.pem", key), bits.E_INVALIDARG)
	wantCode(t, h.m.SetClientCertificate(id, cert, key+".gone"), bits.ERROR_FILE_NOT_FOUND)
	wantCode(t, h.m.SetClientCertificate(id, key, key), bits.E_INVALIDARG)
	res, err := h.m.RemoveClientCertificate(id)
	h.must(err)
	if res != bits.S_FALSE {
		t.Fatalf("RemoveClientCertificate without one = %s", res.Name())
	}
	h.must(h.m.SetClientCertificate(id, cert, key))
	h.restart()
	cc, err := h.m.GetClientCertificate(id)
	h.must(err)
	if cc == nil || cc.CertFile != cert || cc.KeyFile != key {
		t.Fatalf("after restart %+v", cc)
	}
	// TakeOwnership drops it, as BITS does.
	h.must(h.m.TakeOwnership(id))
	if cc, _ := h.m.GetClientCertificate(id); cc != nil {
		t.Fatalf("client certificate kept by TakeOwnership: %+v", cc)
	}
}

func TestSelfSignedServerNeedsTheJobsFlags(t *testing.T) {
	t.Parallel()
	srv := testsrv.NewTLS(t)
	srv.Handle("/s.bin", testsrv.File{Size: 200 << 10})
	// A TLS handshake under Wine on a busy machine can take longer than the
	// harness' one-second stall timeout, which would make the refusal a
	// transient timeout: this test is about the certificate.
	h := newHarness(t, slowStall)
	id := h.job("tls", srv.URL("/s.bin"), h.path("s.bin"))
	h.must(h.m.Resume(id))
	in := h.waitState(id, bits.StateError)
	if in.Error.Code != bits.ERROR_WINHTTP_SECURE_FAILURE {
		t.Fatalf("error %+v", in.Error)
	}
	h.must(h.m.SetSecurityFlags(id, transfer.SecurityIgnoreUnknownCA))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	_, err := h.m.Complete(id)
	h.must(err)
	if fileSHA(t, h.path("s.bin")) != sha(srv.Body("/s.bin")) {
		t.Fatal("content differs")
	}
}

func TestRedirectPolicyInTheEngine(t *testing.T) {
	t.Parallel()
	srv := testsrv.New(t)
	srv.Handle("/new.bin", testsrv.File{Size: 30 << 10})
	srv.Handle("/old.bin", testsrv.File{RedirectTo: "/new.bin"})
	h := newHarness(t)

	// ALLOW_REPORT: the remote name becomes the final URL.
	id := h.job("report", srv.URL("/old.bin"), h.path("r.bin"))
	h.must(h.m.SetSecurityFlags(id, transfer.RedirectPolicyAllowReport))
	h.must(h.m.Resume(id))
	in := h.waitState(id, bits.StateTransferred)
	if in.Files[0].RemoteName != srv.URL("/new.bin") {
		t.Fatalf("remote name %q", in.Files[0].RemoteName)
	}
	// DISALLOW: fatal with the 3xx, the remote name names the target.
	id = h.job("disallow", srv.URL("/old.bin"), h.path("d.bin"))
	h.must(h.m.SetSecurityFlags(id, transfer.RedirectPolicyDisallow))
	h.must(h.m.Resume(id))
	in = h.waitState(id, bits.StateError)
	if in.Error.Code != bits.HTTPError(302) || in.Files[0].RemoteName != srv.URL("/new.bin") {
		t.Fatalf("error %+v, remote name %q", in.Error, in.Files[0].RemoteName)
	}
	// ALLOW_SILENT (the default) keeps the name.
	id = h.job("silent", srv.URL("/old.bin"), h.path("s.bin"))
	h.must(h.m.Resume(id))
	in = h.waitState(id, bits.StateTransferred)
	if in.Files[0].RemoteName != srv.URL("/old.bin") {
		t.Fatalf("remote name %q", in.Files[0].RemoteName)
	}
}

func TestCustomHTTPMethodDownload(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var methods []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		methods = append(methods, r.Method)
		mu.Unlock()
		if r.Method != "POST" {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		w.Write([]byte("generated for POST"))
	}))
	defer srv.Close()
	h := newHarness(t)
	id := h.job("verb", srv.URL+"/gen", h.path("gen.txt"))
	h.must(h.m.SetHTTPMethod(id, "POST"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	_, err := h.m.Complete(id)
	h.must(err)
	b, err := os.ReadFile(h.path("gen.txt"))
	h.must(err)
	mu.Lock()
	defer mu.Unlock()
	if string(b) != "generated for POST" || len(methods) != 1 || methods[0] != "POST" {
		t.Fatalf("content %q, methods %v", b, methods)
	}
}

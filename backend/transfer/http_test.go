package transfer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

const mb = 1 << 20

func serve(t *testing.T, f testsrv.File) (*testsrv.Server, string) {
	t.Helper()
	srv := testsrv.New(t)
	srv.Handle("/f.bin", f)
	return srv, srv.URL("/f.bin")
}

func TestHTTPFullDownload(t *testing.T) {
	srv, url := serve(t, testsrv.File{Size: 3*mb + 17})
	m := newTarget(t)
	if err := run(t, testHTTP(), Request{URL: url}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
	// One request: the ranged GET's headers give the size and validators.
	log := srv.Requests("/f.bin")
	if len(log) != 1 || log[0].Method != "GET" {
		t.Fatalf("requests: %+v", log)
	}
	if log[0].Range != "bytes=0-" || log[0].IfRange != "" || log[0].Status != 206 {
		t.Fatalf("GET: range %q if-range %q status %d", log[0].Range, log[0].IfRange, log[0].Status)
	}
	v := m.validator()
	if v.Size != 3*mb+17 || v.ETag == "" || v.LastModified == "" {
		t.Fatalf("validator %+v", v)
	}
	if ua := log[0].Header.Get("User-Agent"); ua != DefaultUserAgent {
		t.Fatalf("User-Agent %q", ua)
	}
	if m.writes > 3*mb/(64<<10) {
		t.Fatalf("%d writes for 3 MiB: chunks too small", m.writes)
	}
}

func TestHTTPCutThenResume(t *testing.T) {
	const size = 2*mb + 5
	srv, url := serve(t, testsrv.File{Size: size, CutAfter: 700 << 10, CutOnce: true})
	d := testHTTP()
	m := newTarget(t)
	err := run(t, d, Request{URL: url}, m)
	wantCode(t, err, bits.BG_E_CONNECTION_CLOSED, true, bits.ContextRemoteFile)
	part := m.bytes()
	if len(part) == 0 || len(part) > 700<<10 {
		t.Fatalf("kept %d bytes after a cut at %d", len(part), 700<<10)
	}
	wantBytes(t, part, srv.Body("/f.bin")[:len(part)])

	srv.ClearLog()
	req := m.resume(url, Options{})
	if err := run(t, d, req, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
	if m.resets != 0 {
		t.Fatalf("resume reset the target %d times", m.resets)
	}
	log := srv.Requests("/f.bin")
	get := log[len(log)-1]
	if get.Range != fmt.Sprintf("bytes=%d-", len(part)) || get.IfRange != req.Validator.ETag || get.Status != 206 {
		t.Fatalf("resume GET: %+v", get)
	}
	if get.Sent != int64(size-len(part)) {
		t.Fatalf("resume re-sent %d bytes, want %d", get.Sent, size-len(part))
	}
}

func TestHTTPCutAlwaysKeepsBytes(t *testing.T) {
	srv, url := serve(t, testsrv.File{Size: mb, CutAfter: 300 << 10})
	d := testHTTP()
	m := newTarget(t)
	err := run(t, d, Request{URL: url}, m)
	wantCode(t, err, bits.BG_E_CONNECTION_CLOSED, true, bits.ContextRemoteFile)
	first := len(m.bytes())
	// Every response is cut 300 KiB in: each retry must still progress.
	for i := 0; i < 10 && err != nil; i++ {
		err = run(t, d, m.resume(url, Options{}), m)
	}
	if err != nil {
		t.Fatalf("after retries: %v", err)
	}
	if first == 0 {
		t.Fatal("first attempt kept no byte")
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
}

func TestHTTPStatuses(t *testing.T) {
	for _, tc := range []struct {
		status    int
		transient bool
	}{{404, false}, {403, false}, {401, false}, {410, false}, {408, true}, {500, true}, {503, true}, {501, false}} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			_, url := serve(t, testsrv.File{Size: 10, Status: tc.status})
			m := newTarget(t)
			err := run(t, testHTTP(), Request{URL: url}, m)
			te := wantCode(t, err, bits.HTTPError(tc.status), tc.transient, bits.ContextRemoteFile)
			if te.Protocol != "http" {
				t.Fatalf("protocol %q", te.Protocol)
			}
		})
	}
}

func TestHTTP503ThenOK(t *testing.T) {
	srv, url := serve(t, testsrv.File{Size: 1000, FailTimes: 1})
	d, m := testHTTP(), newTarget(t)
	wantCode(t, run(t, d, Request{URL: url}, m), bits.HTTPError(503), true, bits.ContextRemoteFile)
	if err := run(t, d, Request{URL: url}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
}

// A server that ignores Range sends the whole file from byte 0: taken.
func TestHTTPNoRangeSupport(t *testing.T) {
	srv, url := serve(t, testsrv.File{Size: mb, NoRange: true})
	m := newTarget(t)
	if err := run(t, testHTTP(), Request{URL: url}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
	if log := srv.Requests("/f.bin"); len(log) != 1 || log[0].Status != 200 {
		t.Fatalf("requests %+v", log)
	}
	if v := m.validator(); v.Size != mb || v.ETag == "" {
		t.Fatalf("validator %+v", v)
	}
}

// Resumed, a server that stopped honouring Range sends the same version
// whole: the bytes held are skipped, never rewritten, and the rest appended.
func TestHTTPNoRangeOnResumeSkipsTheBytesHeld(t *testing.T) {
	srv, url := serve(t, testsrv.File{Size: mb, CutAfter: 200 << 10, CutOnce: true})
	d, m := testHTTP(), newTarget(t)
	wantCode(t, run(t, d, Request{URL: url}, m), bits.BG_E_CONNECTION_CLOSED, true, bits.ContextRemoteFile)
	srv.Update("/f.bin", func(f *testsrv.File) { f.NoRange = true })
	held := m.bytes()
	writes := m.writes
	srv.ClearLog()
	req := m.resume(url, Options{})
	if err := run(t, d, req, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
	wantBytes(t, m.bytes()[:len(held)], held)
	if m.resets != 0 {
		t.Fatalf("%d resets: durable bytes were dropped", m.resets)
	}
	// The Target only ever appends: at most ceil(rest/buffer) writes.
	if w := m.writes - writes; w > (mb-len(held))/(64<<10)+1 {
		t.Fatalf("%d writes for the %d remaining bytes", w, mb-len(held))
	}
	// If-Range 200 (same version) → plain Range 200 → skip.
	log := srv.Requests("/f.bin")
	if len(log) != 2 || log[0].IfRange != req.Validator.ETag || log[0].Status != 200 ||
		log[1].IfRange != "" || log[1].Range != log[0].Range || log[1].Status != 200 {
		t.Fatalf("requests %+v", log)
	}
}

func TestHTTPNoContentLength(t *testing.T) {
	for name, f := range map[string]testsrv.File{
		"206 with total *": {Size: 100 << 10, NoLength: true},
		"chunked 200":      {Size: 100 << 10, NoLength: true, NoRange: true},
	} {
		t.Run(name, func(t *testing.T) {
			_, url := serve(t, f)
			m := newTarget(t)
			wantCode(t, run(t, testHTTP(), Request{URL: url}, m), bits.BG_E_MISSING_FILE_SIZE, false, bits.ContextRemoteFile)
			if len(m.bytes()) != 0 {
				t.Fatalf("%d bytes written without a size", len(m.bytes()))
			}
		})
	}
}

func TestHTTPDynamic(t *testing.T) {
	for name, f := range map[string]testsrv.File{
		"no-length": {Size: 300 << 10, NoLength: true},
		"no-range":  {Size: 300 << 10, NoRange: true},
		"normal":    {Size: 300 << 10},
	} {
		t.Run(name, func(t *testing.T) {
			srv, url := serve(t, f)
			m := newTarget(t)
			m.ready, m.buf = true, []byte("stale bytes from an earlier attempt")
			opts := Options{Dynamic: true}
			if err := run(t, testHTTP(), Request{URL: url, Offset: int64(len(m.buf)), Options: opts}, m); err != nil {
				t.Fatal(err)
			}
			wantBytes(t, m.bytes(), srv.Body("/f.bin"))
			if m.resets != 1 {
				t.Fatalf("resets %d, want 1", m.resets)
			}
			log := srv.Requests("/f.bin")
			if len(log) != 1 || log[0].Method != "GET" || log[0].Range != "" {
				t.Fatalf("dynamic requests: %+v", log)
			}
			want := int64(300 << 10)
			if f.NoLength {
				want = bits.SizeUnknown
			}
			if v := m.validator(); v.Size != want {
				t.Fatalf("size %d, want %d", v.Size, want)
			}
		})
	}
}

// The file changes while the download is interrupted: If-Range answers 200
// with the new version, which replaces the old from byte 0.
func TestHTTPContentChangedBeforeResume(t *testing.T) {
	srv, url := serve(t, testsrv.File{Size: mb, CutAfter: 400 << 10, CutOnce: true})
	d, m := testHTTP(), newTarget(t)
	wantCode(t, run(t, d, Request{URL: url}, m), bits.BG_E_CONNECTION_CLOSED, true, bits.ContextRemoteFile)
	old := srv.Body("/f.bin")
	srv.Change("/f.bin")
	if err := run(t, d, m.resume(url, Options{}), m); err != nil {
		t.Fatal(err)
	}
	if m.resets != 1 {
		t.Fatalf("resets %d, want 1", m.resets)
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
	if string(m.bytes()[:1000]) == string(old[:1000]) {
		t.Fatal("old version kept")
	}
	log := srv.Requests("/f.bin")
	last := log[len(log)-1]
	if last.Range == "bytes=0-" || last.IfRange == "" || last.Status != 200 || last.Version != 1 || len(log) != 2 {
		t.Fatalf("resumed GET: %+v", log)
	}
	if v := m.validator(); v.ETag == last.IfRange || v.ETag == "" {
		t.Fatalf("validator not updated to the new version: %+v", v)
	}
}

// Without a validator to send in If-Range (a weak ETag only), a 206 of a
// new version is caught by its headers: restart from byte 0.
func TestHTTPContentChangedUnderA206(t *testing.T) {
	srv, url := serve(t, testsrv.File{Size: mb})
	old := srv.Body("/f.bin")
	srv.Change("/f.bin")
	m := newTarget(t)
	m.ready, m.buf = true, append([]byte(nil), old[:300<<10]...)
	req := Request{URL: url, Offset: 300 << 10, Validator: bits.Validator{Size: mb, ETag: `W/"old"`}}
	if err := run(t, testHTTP(), req, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
	log := srv.Requests("/f.bin")
	if m.resets != 1 || len(log) != 2 || log[0].IfRange != "" || log[0].Status != 206 || log[1].Range != "bytes=0-" {
		t.Fatalf("resets %d, requests %+v", m.resets, log)
	}
	if v := m.validator(); v.ETag == `W/"old"` || v.ETag == "" {
		t.Fatalf("validator not updated to the new version: %+v", v)
	}
}

func TestHTTPWrongContentRange(t *testing.T) {
	_, url := serve(t, testsrv.File{Size: 5000, WrongRange: true})
	m := newTarget(t)
	wantCode(t, run(t, testHTTP(), Request{URL: url}, m), bits.BG_E_INVALID_SERVER_RESPONSE, false, bits.ContextRemoteFile)
	if len(m.bytes()) != 0 {
		t.Fatal("bytes written from a wrong Content-Range")
	}
}

func TestHTTPRedirects(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f.bin", testsrv.File{Size: 4000})
	srv.Handle("/moved", testsrv.File{RedirectTo: "/f.bin"})
	srv.Handle("/loop", testsrv.File{RedirectLoop: true})
	m := newTarget(t)
	if err := run(t, testHTTP(), Request{URL: srv.URL("/moved")}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
	wantCode(t, run(t, testHTTP(), Request{URL: srv.URL("/loop")}, newTarget(t)), bits.ERROR_WINHTTP_REDIRECT_FAILED, false, bits.ContextRemoteFile)
	if n := len(srv.Requests("/loop")); n != DefaultMaxRedirects+1 {
		t.Fatalf("%d requests before giving up, want %d", n, DefaultMaxRedirects+1)
	}
}

func TestHTTPStall(t *testing.T) {
	_, url := serve(t, testsrv.File{Size: mb, StallAfter: 100 << 10})
	m := newTarget(t)
	start := time.Now()
	wantCode(t, run(t, testHTTP(), Request{URL: url}, m), bits.ERROR_WINHTTP_TIMEOUT, true, bits.ContextRemoteFile)
	if el := time.Since(start); el < 900*time.Millisecond || el > 5*time.Second {
		t.Fatalf("stall detected after %v with a 1s timeout", el)
	}
	if len(m.bytes()) != 100<<10 {
		t.Fatalf("kept %d bytes, want the %d received", len(m.bytes()), 100<<10)
	}
}

func TestHTTPCancel(t *testing.T) {
	_, url := serve(t, testsrv.File{Size: mb, StallAfter: 10})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	err := testHTTP().Download(ctx, Request{URL: url}, newTarget(t))
	var te *Error
	if !errors.Is(err, context.Canceled) || errors.As(err, &te) {
		t.Fatalf("got %v, want a wrapped context.Canceled", err)
	}
}

func TestHTTPConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = run(t, testHTTP(), Request{URL: "http://" + addr + "/x"}, newTarget(t))
	wantCode(t, err, bits.ERROR_WINHTTP_CANNOT_CONNECT, true, bits.ContextGeneralTransport)
}

func TestHTTPHeadNotAllowed(t *testing.T) {
	srv, url := serve(t, testsrv.File{Size: 70000, NoHead: true})
	m := newTarget(t)
	if err := run(t, testHTTP(), Request{URL: url}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
	if v := m.validator(); v.Size != 70000 || v.ETag == "" {
		t.Fatalf("validator %+v", v)
	}
}

func TestHTTPEmptyAndComplete(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/empty", testsrv.File{})
	srv.Handle("/f.bin", testsrv.File{Size: 1234})
	m := newTarget(t)
	if err := run(t, testHTTP(), Request{URL: srv.URL("/empty")}, m); err != nil {
		t.Fatal(err)
	}
	// "bytes=0-" of an empty file is unsatisfiable; the 416 says size 0.
	if v, log := m.validator(), srv.Requests("/empty"); v.Size != 0 || v.ETag == "" || len(log) != 1 || log[0].Status != 416 {
		t.Fatalf("empty file: validator %+v, requests %+v", v, log)
	}
	m = newTarget(t)
	if err := run(t, testHTTP(), Request{URL: srv.URL("/f.bin")}, m); err != nil {
		t.Fatal(err)
	}
	srv.ClearLog()
	if err := run(t, testHTTP(), m.resume(srv.URL("/f.bin"), Options{}), m); err != nil {
		t.Fatal(err)
	}
	if log := srv.Requests(""); len(log) != 1 || log[0].Status != 416 || log[0].Sent > 100 {
		t.Fatalf("complete file fetched again: %+v", log)
	}
	if m.resets != 0 || len(m.bytes()) != 1234 {
		t.Fatalf("resets %d, %d bytes", m.resets, len(m.bytes()))
	}
}

func TestHTTPHeadersAndCredentials(t *testing.T) {
	srv, url := serve(t, testsrv.File{Size: 100})
	opts := Options{
		CustomHeaders: "X-Ferry-Test: one\r\nX-Other:  two \nRange: bytes=5-\r\n\r\n",
		Credentials: []bits.Credential{
			{Target: bits.AuthTargetServer, Scheme: bits.AuthBasic, UserName: "u", Password: "p"},
		},
	}
	if err := run(t, testHTTP(), Request{URL: url, Options: opts}, newTarget(t)); err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Requests("/f.bin") {
		h := r.Header
		if h.Get("X-Ferry-Test") != "one" || h.Get("X-Other") != "two" || h.Get("Authorization") != "Basic dTpw" {
			t.Fatalf("%s headers: %v", r.Method, h)
		}
		if r.Method == "GET" && r.Range != "bytes=0-" {
			t.Fatalf("custom Range header overrode the driver's: %q", r.Range)
		}
	}
}

func TestHTTPTLS(t *testing.T) {
	srv := testsrv.NewTLS(t)
	srv.Handle("/f.bin", testsrv.File{Size: 50000})
	// Untrusted self-signed certificate: fatal.
	wantCode(t, run(t, testHTTP(), Request{URL: srv.URL("/f.bin")}, newTarget(t)), bits.ERROR_WINHTTP_SECURE_FAILURE, false, bits.ContextGeneralTransport)
	// Trusted through the TLS hook.
	d := NewHTTP(HTTPConfig{StallTimeout: time.Second, TLSConfig: &tls.Config{RootCAs: srv.Roots()}})
	m := newTarget(t)
	if err := run(t, d, Request{URL: srv.URL("/f.bin")}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
}

func TestClassifyTransport(t *testing.T) {
	for _, tc := range []struct {
		err       error
		code      bits.HRESULT
		transient bool
	}{
		{&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}, bits.ERROR_WINHTTP_NAME_NOT_RESOLVED, true},
		{&net.OpError{Op: "proxyconnect", Err: errors.New("Proxy Authentication Required")}, bits.HTTPError(407), false},
		{fmt.Errorf("wrap: %w", errTooManyRedirects), bits.ERROR_WINHTTP_REDIRECT_FAILED, false},
		{errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP response "x"`), bits.ERROR_WINHTTP_INVALID_SERVER_RESPONSE, true},
		{errors.New("EOF"), bits.ERROR_WINHTTP_CONNECTION_ERROR, true},
	} {
		got := classifyTransport(tc.err)
		if got.Code != tc.code || got.Transient != tc.transient || !strings.Contains(got.Error(), tc.code.Name()) {
			t.Errorf("%v: got %s transient=%v, want %s %v", tc.err, got.Code.Name(), got.Transient, tc.code.Name(), tc.transient)
		}
	}
}

package transfer

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// cutThenResume downloads url until the server cuts it, then resumes; it
// returns the bytes held at the cut and the resumed Request.
func cutThenResume(t *testing.T, d *HTTPDriver, srv *testsrv.Server, url string, m *memTarget) ([]byte, Request) {
	t.Helper()
	wantCode(t, run(t, d, Request{URL: url}, m), bits.BG_E_CONNECTION_CLOSED, true, bits.ContextRemoteFile)
	held := m.bytes()
	if len(held) == 0 {
		t.Fatal("nothing held after the cut")
	}
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
	return held, req
}

// Issue 8: a server that answers If-Range with 200 but honours Range. The
// 200 shows the same version, so the range is asked again without If-Range.
func TestHTTPIfRangeIgnoredButRangeHonoured(t *testing.T) {
	srv, url := serve(t, testsrv.File{Size: mb, CutAfter: 300 << 10, CutOnce: true, IgnoreIfRange: true})
	var logged bytes.Buffer
	d := NewHTTP(HTTPConfig{StallTimeout: time.Second, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	held, req := cutThenResume(t, d, srv, url, newTarget(t))
	// The exchange is logged for the server's owner.
	for _, want := range []string{"ignored If-Range", "status=200", "if_range=" + strconv.Quote(req.Validator.ETag), fmt.Sprintf("offset=%d", len(held))} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logged.String())
		}
	}
	log := srv.Requests("/f.bin")
	want := fmt.Sprintf("bytes=%d-", len(held))
	if len(log) != 2 || log[0].IfRange != req.Validator.ETag || log[0].Status != 200 ||
		log[1].Range != want || log[1].IfRange != "" || log[1].Status != 206 || log[1].Sent != int64(mb-len(held)) {
		t.Fatalf("requests %+v", log)
	}
}

// An unquoted ETag (go-httpbin's) is no entity-tag: If-Range falls back to
// Last-Modified, which the server matches.
func TestHTTPUnquotedETagUsesLastModified(t *testing.T) {
	srv, url := serve(t, testsrv.File{Size: mb, CutAfter: 300 << 10, CutOnce: true, UnquotedETag: true})
	_, req := cutThenResume(t, testHTTP(), srv, url, newTarget(t))
	if strings.HasPrefix(req.Validator.ETag, `"`) || req.Validator.LastModified == "" {
		t.Fatalf("validator %+v", req.Validator)
	}
	if log := srv.Requests("/f.bin"); len(log) != 1 || log[0].IfRange != req.Validator.LastModified || log[0].Status != 206 {
		t.Fatalf("requests %+v", log)
	}
}

// The server cuts the whole-body reply while the held bytes are skipped:
// nothing is written, nothing is lost, and the next attempt completes.
func TestHTTPCutWhileSkipping(t *testing.T) {
	srv, url := serve(t, testsrv.File{Size: mb, CutAfter: 500 << 10, CutOnce: true})
	d, m := testHTTP(), newTarget(t)
	wantCode(t, run(t, d, Request{URL: url}, m), bits.BG_E_CONNECTION_CLOSED, true, bits.ContextRemoteFile)
	held := m.bytes()
	srv.Update("/f.bin", func(f *testsrv.File) { f.NoRange, f.CutAfter, f.CutOnce = true, 100<<10, false })
	writes := m.writes
	// The If-Range 200 is dropped unread; the plain one is cut while skipping.
	wantCode(t, run(t, d, m.resume(url, Options{}), m), bits.BG_E_CONNECTION_CLOSED, true, bits.ContextRemoteFile)
	if m.writes != writes || len(m.bytes()) != len(held) {
		t.Fatalf("the cut skip wrote: %d bytes held, %d before", len(m.bytes()), len(held))
	}
	srv.Update("/f.bin", func(f *testsrv.File) { f.CutAfter = 0 })
	if err := run(t, d, m.resume(url, Options{}), m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
	if m.resets != 0 {
		t.Fatalf("%d resets", m.resets)
	}
}

// plainServer ignores Range and sends only a Content-Length: no ETag and no
// Last-Modified tell one version from another.
func plainServer(t *testing.T, body []byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A 200 that cannot be proven the same version is never spliced onto the
// bytes held: it replaces them from byte 0.
func TestHTTPRangeIgnoredWithoutValidatorsRestarts(t *testing.T) {
	body := randomBytes(200 << 10)
	srv := plainServer(t, body)
	m := newTarget(t)
	m.ready, m.buf = true, []byte("bytes of some other version")
	req := Request{URL: srv.URL, Offset: int64(len(m.buf)), Validator: bits.Validator{Size: int64(len(body))}}
	if err := run(t, testHTTP(), req, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), body)
	if m.resets != 1 {
		t.Fatalf("%d resets, want 1", m.resets)
	}
}

// A server that refuses "bytes=0-" with 416 for a file it has is asked
// once more without a Range.
func TestHTTP416ToTheFirstRangeFallsBackToAPlainGET(t *testing.T) {
	body := randomBytes(5000)
	var ranges []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ranges = append(ranges, r.Header.Get("Range"))
		if r.Header.Get("Range") != "" {
			http.Error(w, "no", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		w.Header().Set("ETag", `"x"`)
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	m := newTarget(t)
	if err := run(t, testHTTP(), Request{URL: srv.URL}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), body)
	if len(ranges) != 2 || ranges[0] != "bytes=0-" || ranges[1] != "" {
		t.Fatalf("Range headers %q", ranges)
	}
}

// Resumed past the end: a 416 whose total differs means the file shrank.
func TestHTTP416ResumedShrunkRestarts(t *testing.T) {
	srv, url := serve(t, testsrv.File{Size: 1000})
	m := newTarget(t)
	m.ready, m.buf = true, make([]byte, 1500)
	req := Request{URL: url, Offset: 1500, Validator: bits.Validator{Size: 2000}}
	if err := run(t, testHTTP(), req, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), srv.Body("/f.bin"))
	if log := srv.Requests("/f.bin"); m.resets != 1 || len(log) != 2 || log[0].Status != 416 || log[1].Range != "bytes=0-" {
		t.Fatalf("resets %d, requests %+v", m.resets, log)
	}
}

func TestSameVersion(t *testing.T) {
	const lm = "Tue, 02 Jan 2024 03:04:05 GMT"
	for _, tc := range []struct {
		a, b bits.Validator
		want bool
	}{
		{bits.Validator{Size: 10, ETag: `"a"`}, bits.Validator{Size: 10, ETag: `"a"`}, true},
		{bits.Validator{Size: 10, ETag: `a`}, bits.Validator{Size: 10, ETag: `a`}, true},
		{bits.Validator{Size: 10, ETag: `a`}, bits.Validator{Size: 10, ETag: `"a"`}, false},
		{bits.Validator{Size: 10, ETag: `"a"`}, bits.Validator{Size: 11, ETag: `"a"`}, false},
		{bits.Validator{Size: 10, LastModified: lm}, bits.Validator{Size: 10, LastModified: lm}, true},
		{bits.Validator{Size: 10, ETag: `W/"a"`}, bits.Validator{Size: 10, ETag: `W/"a"`}, false},
		{bits.Validator{Size: 10, ETag: `W/"a"`, LastModified: lm}, bits.Validator{Size: 10, ETag: `W/"a"`, LastModified: lm}, true},
		{bits.Validator{Size: 10, ETag: `"a"`, LastModified: lm}, bits.Validator{Size: 10, ETag: `"b"`, LastModified: lm}, false},
		{bits.Validator{Size: 10}, bits.Validator{Size: 10}, false},
		{bits.Validator{Size: 10, ETag: `"a"`}, bits.Validator{Size: 10, LastModified: lm}, false},
		{bits.Validator{Size: bits.SizeUnknown, ETag: `"a"`}, bits.Validator{Size: bits.SizeUnknown, ETag: `"a"`}, false},
	} {
		if got := sameVersion(tc.a, tc.b); got != tc.want {
			t.Errorf("sameVersion(%+v, %+v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	for tag, want := range map[string]string{`"x"`: `"x"`, `W/"x"`: "lm", `x`: "lm", `"`: "lm", `"a"b"`: "lm"} {
		if got := ifRangeOf(bits.Validator{ETag: tag, LastModified: "lm"}); got != want {
			t.Errorf("ifRangeOf(%q) = %q, want %q", tag, got, want)
		}
	}
}

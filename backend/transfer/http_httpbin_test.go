package transfer

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mccutchen/go-httpbin/v2/httpbin"

	"ferry/backend/bits"
)

// binLog records the requests to an httpbin server and their statuses.
type binLog struct {
	mu  sync.Mutex
	rng []string // Range sent
	ifr []string // If-Range sent
	st  []int
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// httpbinServer serves go-httpbin; addLastModified plays a front proxy that
// adds a Last-Modified header to its replies.
func httpbinServer(t *testing.T, addLastModified string) (*httptest.Server, *binLog) {
	bin := httpbin.New()
	l := &binLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if addLastModified != "" {
			w.Header().Set("Last-Modified", addLastModified)
		}
		sr := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		bin.ServeHTTP(sr, r)
		l.mu.Lock()
		l.rng = append(l.rng, r.Header.Get("Range"))
		l.ifr = append(l.ifr, r.Header.Get("If-Range"))
		l.st = append(l.st, sr.status)
		l.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, l
}

func (l *binLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("Range %q If-Range %q status %v", l.rng, l.ifr, l.st)
}

// httpbinBody is what /range/n serves: "abc…z" repeated.
func httpbinBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// cancelAfterWrite suspends the download (cancels its context) once the
// first bytes are written, as `ferry suspend` does mid-transfer.
type cancelAfterWrite struct {
	*memTarget
	cancel context.CancelFunc
}

func (c cancelAfterWrite) Write(p []byte) (int, error) {
	n, err := c.memTarget.Write(p)
	c.cancel()
	return n, err
}

// Issue 8, go-httpbin's /range/N: suspended mid-transfer, resumed, the file
// completes identical. Its ETag is unquoted, so it never matches If-Range.
func TestHTTPGoHTTPBinRangeSuspendResume(t *testing.T) {
	const size = 600_000
	for _, tc := range []struct {
		name, lastModified string
		wantIfRange        bool // the resumed GET carried If-Range (answered 200)
	}{
		{"plain", "", false},
		// Last-Modified is sent as If-Range; go-httpbin answers it with the
		// whole body, and the range is asked again without it.
		{"behind a proxy adding Last-Modified", "Tue, 02 Jan 2024 03:04:05 GMT", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, l := httpbinServer(t, tc.lastModified)
			// duration paces the body over half a second, so the rest of it
			// is still on its way when the download is suspended.
			url := fmt.Sprintf("%s/range/%d?duration=500ms", srv.URL, size)
			d := NewHTTP(HTTPConfig{StallTimeout: 5 * time.Second, BufferSize: 16 << 10})
			m := newTarget(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sctx, suspend := context.WithCancel(ctx)
			err := d.Download(sctx, Request{URL: url}, cancelAfterWrite{m, suspend})
			held := m.bytes()
			if err == nil || sctx.Err() == nil || len(held) == 0 || len(held) >= size {
				t.Fatalf("suspend: %v with %d bytes held", err, len(held))
			}
			req := m.resume(url, Options{})
			if req.Validator.ETag != fmt.Sprintf("range%d", size) || req.Validator.Size != size {
				t.Fatalf("validator %+v", req.Validator)
			}
			if err := d.Download(ctx, req, m); err != nil {
				t.Fatalf("resume: %v (%s)", err, l)
			}
			wantBytes(t, m.bytes(), httpbinBody(size))
			if m.resets != 0 {
				t.Fatalf("%d resets", m.resets)
			}
			l.mu.Lock()
			defer l.mu.Unlock()
			wantRange := fmt.Sprintf("bytes=%d-", len(held))
			last := len(l.st) - 1
			if l.rng[last] != wantRange || l.ifr[last] != "" || l.st[last] != http.StatusPartialContent {
				t.Fatalf("resumed GET: %s", l)
			}
			if tc.wantIfRange && (len(l.st) != 3 || l.ifr[1] != tc.lastModified || l.st[1] != http.StatusOK) {
				t.Fatalf("If-Range GET: %s", l)
			}
			if !tc.wantIfRange && len(l.st) != 2 {
				t.Fatalf("requests: %s", l)
			}
		})
	}
}

// A full download from go-httpbin: one ranged GET gives size and ETag.
func TestHTTPGoHTTPBinRangeDownload(t *testing.T) {
	srv, l := httpbinServer(t, "")
	m := newTarget(t)
	if err := run(t, testHTTP(), Request{URL: srv.URL + "/range/100000"}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), httpbinBody(100000))
	if v := m.validator(); v != (bits.Validator{Size: 100000, ETag: "range100000"}) {
		t.Fatalf("validator %+v", v)
	}
	if l.String() != `Range ["bytes=0-"] If-Range [""] status [206]` {
		t.Fatalf("requests: %s", l)
	}
}

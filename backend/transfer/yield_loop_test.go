package transfer

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"ferry/backend/clock"
)

// A yielding download over loopback (round trips of microseconds, 64 KiB
// segments) completes: small bodies right after the connection opens, as an
// upload job's reply is fetched.
func TestYieldLoopbackCompletes(t *testing.T) {
	body := bytes.Repeat([]byte("r"), 64<<10+1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	defer srv.Close()
	d := NewHTTP(HTTPConfig{})
	for i := range 50 {
		y := NewYielder(clock.Real{})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		tgt := newTarget(t)
		err := d.Download(ctx, Request{URL: srv.URL, Options: Options{Yield: y}}, tgt)
		cancel()
		if err != nil {
			t.Fatalf("download %d: %v (window %d)", i, err, y.Window())
		}
		if len(tgt.buf) != len(body) {
			t.Fatalf("download %d: %d bytes, want %d", i, len(tgt.buf), len(body))
		}
	}
}

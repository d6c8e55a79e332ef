package transfer

import (
	"context"
	"sync/atomic"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// Limit makes every byte of a download wait on the limiter first.
func TestLimitWaitsForEveryByte(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 300 << 10})
	var waited atomic.Int64
	d := Limit(testHTTP(), func(_ context.Context, n int) error { waited.Add(int64(n)); return nil })
	m := newTarget(t)
	if err := run(t, d, Request{URL: srv.URL("/f")}, m); err != nil {
		t.Fatal(err)
	}
	if got := waited.Load(); got != 300<<10 {
		t.Fatalf("the limiter saw %d bytes of %d", got, 300<<10)
	}
	wantBytes(t, m.bytes(), srv.Body("/f"))
}

// Retry continues at once from where a dropped connection left the file,
// but leaves a failure without progress to the engine's retry delay.
func TestRetryAfterProgressOnly(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/cut", testsrv.File{Size: 200 << 10, CutAfter: 50 << 10, CutOnce: true})
	srv.Handle("/503", testsrv.File{Size: 10, Status: 503})
	d := Retry(testHTTP(), QuickRetries)
	m := newTarget(t)
	if err := run(t, d, Request{URL: srv.URL("/cut")}, m); err != nil {
		t.Fatalf("a cut after progress was not retried: %v", err)
	}
	wantBytes(t, m.bytes(), srv.Body("/cut"))
	if m.resets != 0 {
		t.Fatalf("the retry started over %d times instead of resuming", m.resets)
	}
	err := run(t, d, Request{URL: srv.URL("/503")}, newTarget(t))
	wantCode(t, err, bits.HTTPError(503), true, bits.ContextRemoteFile)
	if n := len(srv.Requests("/503")); n != 1 {
		t.Fatalf("%d requests for a failure without progress, want 1", n)
	}
}

// A server that cuts every response is retried QuickRetries times, each
// from the new offset, then the failure is returned.
func TestRetryGivesUp(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/cut", testsrv.File{Size: 200 << 10, CutAfter: 10 << 10})
	m := newTarget(t)
	err := run(t, Retry(testHTTP(), QuickRetries), Request{URL: srv.URL("/cut")}, m)
	if err == nil || !AsError(err).Transient {
		t.Fatalf("got %v, want a transient failure", err)
	}
	if n := len(srv.Requests("/cut")); n != 1+QuickRetries {
		t.Fatalf("%d requests, want %d", n, 1+QuickRetries)
	}
}

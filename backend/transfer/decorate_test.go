package transfer

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

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
	d := Retry(testHTTP(), QuickRetries, QuickBackoff)
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
	err := run(t, Retry(testHTTP(), QuickRetries, QuickBackoff), Request{URL: srv.URL("/cut")}, m)
	if err == nil || !AsError(err).Transient {
		t.Fatalf("got %v, want a transient failure", err)
	}
	if n := len(srv.Requests("/cut")); n != 1+QuickRetries {
		t.Fatalf("%d requests, want %d", n, 1+QuickRetries)
	}
}

// downloadOnly is a driver without the upload capability.
type downloadOnly struct{ Driver }

// The decorators keep the uploader capability of what they wrap and never
// invent it: a download-only driver stays one, decorated.
func TestDecoratorsKeepTheUploaderCapability(t *testing.T) {
	wait := func(context.Context, int) error { return nil }
	for name, d := range map[string]Driver{
		"limit": Limit(testHTTP(), wait), "retry": Retry(testHTTP(), 1, QuickBackoff),
		"both": Retry(Limit(testHTTP(), wait), 1, QuickBackoff),
	} {
		if _, ok := d.(Uploader); !ok {
			t.Errorf("%s of the HTTP driver is not an Uploader", name)
		}
	}
	plain := downloadOnly{testHTTP()}
	for name, d := range map[string]Driver{
		"limit": Limit(plain, wait), "retry": Retry(plain, 1, QuickBackoff),
		"both": Retry(Limit(plain, wait), 1, QuickBackoff),
	} {
		if _, ok := d.(Uploader); ok {
			t.Errorf("%s of a download-only driver claims to upload", name)
		}
	}
}

// Backoff doubles from Initial up to Max, and Wait ends with its context.
func TestBackoff(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 5 * time.Second}
	var got []time.Duration
	for range 5 {
		got = append(got, b.Next())
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	if !slices.Equal(got, want) {
		t.Fatalf("pauses %v, want %v", got, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	long := Backoff{Initial: time.Hour, Max: time.Hour}
	if err := long.Wait(ctx); err == nil {
		t.Fatal("Wait outlived its context")
	}
}

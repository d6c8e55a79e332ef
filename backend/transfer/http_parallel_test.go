package transfer

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// rangeTarget is a memTarget that also takes bytes at any offset, as the
// engine's temporary file does, and checks that every WriteAt lands in a
// file of the announced size after Sized.
type rangeTarget struct {
	*memTarget
	wmu      sync.Mutex
	file     []byte
	tab      *Table
	ranged   int
	maxConns int
	atWrites int
}

func newRangeTarget(t testing.TB) *rangeTarget { return &rangeTarget{memTarget: newTarget(t)} }

func (r *rangeTarget) WriteAt(p []byte, off int64) (int, error) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	v := r.validator()
	if v.Size < 0 || off+int64(len(p)) > v.Size {
		r.t.Errorf("WriteAt %d+%d beyond the size %d", off, len(p), v.Size)
		return 0, nil
	}
	if int64(len(r.file)) < v.Size {
		r.file = append(r.file, make([]byte, v.Size-int64(len(r.file)))...)
	}
	copy(r.file[off:], p)
	r.atWrites++
	return len(p), nil
}

func (r *rangeTarget) Ranged(tab *Table) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.tab, r.ranged = tab, r.ranged+1
	return nil
}

func (r *rangeTarget) Connections(n int) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.maxConns = max(r.maxConns, n)
}

func (r *rangeTarget) Reset() error {
	r.wmu.Lock()
	r.file, r.tab = nil, nil
	r.wmu.Unlock()
	return r.memTarget.Reset()
}

// content is the file: the bytes written at offsets when the download went
// in segments, else the stream's.
func (r *rangeTarget) content() []byte {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.tab != nil {
		return append([]byte(nil), r.file...)
	}
	return r.bytes()
}

// parallelHTTP is testHTTP with a stall timeout that a loaded machine
// running many connections under -race cannot hit by accident.
func parallelHTTP() *HTTPDriver {
	return NewHTTP(HTTPConfig{StallTimeout: 15 * time.Second, ConnectTimeout: 5 * time.Second})
}

func parallelRun(t *testing.T, d Driver, url string, n int, rt *rangeTarget) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	err := d.Download(ctx, Request{URL: url, Connections: n}, rt)
	return time.Since(start), err
}

// rangeStart is the first byte a logged GET asked for (-1: no Range).
func rangeStart(r testsrv.Request) int64 {
	a, _, ok := strings.Cut(strings.TrimPrefix(r.Range, "bytes="), "-")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func TestParallelByteForByteWithEightConnections(t *testing.T) {
	srv := testsrv.New(t)
	const size = 16<<20 + 12345
	srv.Handle("/f", testsrv.File{Size: size, RateLimit: 2 << 20})
	rt := newRangeTarget(t)
	took, err := parallelRun(t, parallelHTTP(), srv.URL("/f"), 8, rt)
	if err != nil {
		t.Fatal(err)
	}
	wantBytes(t, rt.content(), srv.Body("/f"))
	if rt.maxConns != 8 || rt.ranged != 1 || rt.resets != 0 {
		t.Fatalf("connections %d, ranged %d, resets %d; want 8, 1, 0", rt.maxConns, rt.ranged, rt.resets)
	}
	reqs := srv.Requests("/f")
	if reqs[0].Range != "bytes=0-" || reqs[0].IfRange != "" {
		t.Fatalf("first request %+v, want the single stream's bytes=0-", reqs[0])
	}
	for _, r := range reqs[1:] {
		if r.IfRange == "" || r.Status != http.StatusPartialContent {
			t.Fatalf("a segment's request without If-Range or not answered 206: %+v", r)
		}
	}
	if len(reqs) < 8 || srv.Conns() < 8 {
		t.Fatalf("%d requests on %d connections, want at least 8", len(reqs), srv.Conns())
	}
	// One stream at 2 MiB/s needs 8 s; eight need about 1 s (more on a
	// loaded machine under -race): at least twice one stream's rate.
	t.Logf("16 MiB over 8 connections of 2 MiB/s: %v", took)
	if took > 4*time.Second {
		t.Fatalf("took %v, no faster than two streams", took)
	}
}

// A connection much slower than the others has its work taken: the file
// ends long before the slow connection could have sent its share.
func TestParallelStealsFromTheSlowSegment(t *testing.T) {
	srv := testsrv.New(t)
	const size = 8 << 20
	// GET 2 is the first extra connection: it takes [4 MiB, 8 MiB) and
	// would need 64 s for it at 64 KiB/s.
	srv.Handle("/f", testsrv.File{Size: size, RateLimit: 8 << 20, SlowRequest: 2, SlowRate: 64 << 10})
	rt := newRangeTarget(t)
	took, err := parallelRun(t, parallelHTTP(), srv.URL("/f"), 4, rt)
	if err != nil {
		t.Fatal(err)
	}
	wantBytes(t, rt.content(), srv.Body("/f"))
	reqs := srv.Requests("/f")
	slow := rangeStart(reqs[1])
	_, e, _ := strings.Cut(reqs[1].Range, "-")
	slowEnd, _ := strconv.ParseInt(e, 10, 64)
	stolen := false
	for _, r := range reqs[2:] {
		if s := rangeStart(r); s > slow && s <= slowEnd {
			stolen = true
		}
	}
	t.Logf("took %v; slow segment from %d; requests %d", took, slow, len(reqs))
	if !stolen || took > 15*time.Second {
		t.Fatalf("no request took over the slow segment's range (took %v): %+v", took, reqs)
	}
}

func TestParallelFallsBackToOneStream(t *testing.T) {
	cases := []struct {
		name string
		file testsrv.File
	}{
		// Extra connections get a 200 (same version) to their range.
		{"200 to a range", testsrv.File{NoRangeAfter: 1}},
		// Extra connections get a Content-Range off by one.
		{"wrong Content-Range", testsrv.File{WrongRangeAfter: 1}},
		// The server refuses more than two connections at once.
		{"503 on extra connections", testsrv.File{MaxParallel: 2}},
		{"429 on extra connections", testsrv.File{MaxParallel: 2, ParallelStatus: http.StatusTooManyRequests}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := testsrv.New(t)
			f := c.file
			f.Size, f.RateLimit = 6<<20, 4<<20
			srv.Handle("/f", f)
			rt := newRangeTarget(t)
			if _, err := parallelRun(t, parallelHTTP(), srv.URL("/f"), 6, rt); err != nil {
				t.Fatal(err)
			}
			wantBytes(t, rt.content(), srv.Body("/f"))
			var refused, broken int
			for _, r := range srv.Requests("/f") {
				switch {
				case r.Status == http.StatusServiceUnavailable || r.Status == http.StatusTooManyRequests:
					refused++
				case r.Status == http.StatusOK && r.Range != "" || r.Status == http.StatusPartialContent && f.WrongRangeAfter > 0 && r.Range != "bytes=0-":
					broken++
				}
			}
			t.Logf("refused %d, broken replies %d, resets %d", refused, broken, rt.resets)
			if refused+broken == 0 {
				t.Fatal("the server never misbehaved: the case tests nothing")
			}
		})
	}
}

// A file that changes under a download in segments starts again from byte
// 0 and ends as the new version, never a mix.
func TestParallelChangedFileRestarts(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 6 << 20, RateLimit: 4 << 20, ChangeAfter: 3})
	rt := newRangeTarget(t)
	if _, err := parallelRun(t, parallelHTTP(), srv.URL("/f"), 6, rt); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, rt.content(), srv.Body("/f"))
	if rt.resets == 0 || rt.validator().ETag == "" || !strings.Contains(rt.validator().ETag, "-v1") {
		t.Fatalf("resets %d, version %+v: want a restart onto version 1", rt.resets, rt.validator())
	}
}

// The bandwidth cap (Limit) holds for all segments together.
func TestParallelCapHoldsAcrossSegments(t *testing.T) {
	srv := testsrv.New(t)
	const size = 6 << 20
	srv.Handle("/f", testsrv.File{Size: size})
	const capRate = 2 << 20
	lim := rate.NewLimiter(capRate, 64<<10)
	wait := func(ctx context.Context, n int) error {
		for n > 0 {
			k := min(n, lim.Burst())
			if err := lim.WaitN(ctx, k); err != nil {
				return err
			}
			n -= k
		}
		return nil
	}
	rt := newRangeTarget(t)
	took, err := parallelRun(t, Limit(parallelHTTP(), wait), srv.URL("/f"), 8, rt)
	if err != nil {
		t.Fatal(err)
	}
	wantBytes(t, rt.content(), srv.Body("/f"))
	got := float64(size) / took.Seconds()
	t.Logf("8 connections under a 2 MiB/s cap: %.2f MiB/s, %d connections", got/(1<<20), rt.maxConns)
	if got > 1.15*capRate || rt.maxConns < 2 {
		t.Fatalf("%.0f B/s over the %d B/s cap (connections %d)", got, capRate, rt.maxConns)
	}
}

// Recorded segments are resumed each from its own offset, with If-Range.
func TestParallelResumesRecordedSegments(t *testing.T) {
	srv := testsrv.New(t)
	const size = 4 << 20
	srv.Handle("/f", testsrv.File{Size: size})
	body := srv.Body("/f")
	first := newRangeTarget(t)
	if _, err := parallelRun(t, parallelHTTP(), srv.URL("/f"), 1, first); err != nil { // learns the validator
		t.Fatal(err)
	}
	v := first.validator()
	segs := []bits.Segment{{Start: 0, End: 1 << 20, Done: 1000}, {Start: 1 << 20, End: 3 << 20, Done: 2 << 20}, {Start: 3 << 20, End: size, Done: size}}
	rt := newRangeTarget(t)
	rt.file = make([]byte, size)
	copy(rt.file[0:1000], body)
	copy(rt.file[1<<20:2<<20], body[1<<20:])
	copy(rt.file[3<<20:], body[3<<20:])
	rt.ready = true
	srv.ClearLog()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := Request{URL: srv.URL("/f"), Connections: 4, Validator: v, Offset: bits.SegmentBytes(segs), Segments: segs}
	if err := parallelHTTP().Download(ctx, req, rt); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, rt.content(), body)
	starts := map[int64]bool{}
	for _, r := range srv.Requests("/f") {
		if r.IfRange == "" {
			t.Fatalf("a resumed segment's request without If-Range: %+v", r)
		}
		starts[rangeStart(r)] = true
	}
	if !starts[1000] || !starts[2<<20] || starts[0] || starts[3<<20] {
		t.Fatalf("resumed at %v, want 1000 and %d only (and splits of them)", starts, 2<<20)
	}
}

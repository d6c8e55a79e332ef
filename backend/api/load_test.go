package api

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/internal/testsrv"
	"ferry/backend/ops"
	"ferry/backend/store"
	"ferry/backend/transfer"
)

// syncBuffer is a log that many goroutines write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Load: 50 clients, each on its own connection to the control socket,
// issue 20,000 operations (reads and writes mixed) while 20 jobs download
// from a paced server. Every operation succeeds, nothing in the engine's
// log or answers says "database is locked", and the transfers go on. The
// latency of the operations is printed (p50, p99, max); the bound asserted
// is only a generous one. (Under the race detector, 2,000 operations; make
// load runs the 20,000 without it.)
func TestLoadManyClientsWhileJobsTransfer(t *testing.T) {
	const clients, transferring = 50, 20
	total, size, rate := 20000, int64(32<<20), int64(1<<20)
	if raceEnabled {
		total, size, rate = total/10, size/8, rate/8
	}
	srv := testsrv.New(t)
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	m, err := engine.New(engine.Config{Store: st, Owner: "tester", Logger: log,
		Drivers: []transfer.Driver{transfer.NewHTTP(transfer.HTTPConfig{StallTimeout: 60 * time.Second}), transfer.NewFile()}})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	defer m.Close()
	path := filepath.Join(dir, "ferry.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(&ops.Env{Manager: m}, Hello{Version: "test", Owner: "tester"}, log)
	go func() { _ = s.Serve(ln) }()
	defer s.Close(context.Background())
	ctx := context.Background()
	admin := NewClient(path)
	defer admin.Close()
	call := func(cl *Client, op string, args ...string) (string, error) {
		raw, err := cl.Call(ctx, op, ops.Request{Args: args})
		return strings.Trim(string(raw), `"`), err
	}
	create := func(cl *Client, name string) (string, error) {
		var in bits.JobInfo
		err := cl.CallInto(ctx, "create", ops.Request{Args: []string{name}}, &in)
		return in.ID, err
	}
	must := func(_ string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(call(admin, "config set", engine.KeyMaxJobsPerUser, "1000"))
	// 20 FOREGROUND downloads of 32 MiB paced at 1 MiB/s (an eighth of
	// that under the race detector): they transfer all through the load.
	var jobs []string
	for i := range transferring {
		p := fmt.Sprintf("/f%d", i)
		srv.Handle(p, testsrv.File{Size: size, RateLimit: rate})
		id, err := create(admin, fmt.Sprintf("transfer-%d", i))
		must(id, err)
		must(call(admin, "addfile", id, srv.URL(p), filepath.Join(dir, fmt.Sprintf("f%d", i))))
		must(call(admin, "setpriority", id, "foreground"))
		must(call(admin, "resume", id))
		jobs = append(jobs, id)
	}

	type result struct {
		lat  []time.Duration
		errs []string
	}
	results := make([]result, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := NewClient(path)
			defer cl.Close()
			r := &results[c]
			own, err := create(cl, fmt.Sprintf("client-%d", c))
			if err != nil {
				r.errs = append(r.errs, "create: "+err.Error())
				return
			}
			other := jobs[c%len(jobs)]
			for i := range total/clients - 2 {
				var op string
				var args []string
				switch i % 10 {
				case 0:
					op, args = "list", nil
				case 1, 2:
					op, args = "info", []string{other}
				case 3:
					op, args = "getprogress", []string{other}
				case 4:
					op, args = "config", nil
				case 5:
					op, args = "setdescription", []string{own, fmt.Sprintf("round %d", i)}
				case 6:
					op, args = "setpriority", []string{own, []string{"high", "normal", "low"}[i%3]}
				case 7:
					op, args = "setminretrydelay", []string{own, fmt.Sprint(60 + i)}
				case 8:
					op, args = "setdisplayname", []string{own, fmt.Sprintf("client-%d-%d", c, i)}
				case 9:
					op, args = "getstate", []string{own}
				}
				t0 := time.Now()
				_, err := call(cl, op, args...)
				r.lat = append(r.lat, time.Since(t0))
				if err != nil {
					r.errs = append(r.errs, op+": "+err.Error())
				}
			}
			if _, err := call(cl, "cancel", own); err != nil {
				r.errs = append(r.errs, "cancel: "+err.Error())
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var lat []time.Duration
	var errs []string
	for _, r := range results {
		lat = append(lat, r.lat...)
		errs = append(errs, r.errs...)
	}
	if len(errs) > 0 {
		t.Fatalf("%d of %d operations failed, the first: %s", len(errs), total, errs[0])
	}
	n := len(lat) + 2*clients // with each client's create and cancel
	if n != total {
		t.Fatalf("%d operations, want %d", n, total)
	}
	slices.Sort(lat)
	p50, p99, worst := lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	t.Logf("load: %d clients, %d operations in %v (%.0f/s) beside %d transfers: p50 %v, p99 %v, max %v",
		clients, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), transferring, p50, p99, worst)
	if p99 > 5*time.Second {
		t.Fatalf("p99 latency %v", p99)
	}
	var moved int
	for _, id := range jobs {
		in, err := admin.Info(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if in.State == bits.StateError || in.State == bits.StateTransientError {
			t.Fatalf("transfer %s: %s %+v", id, in.State, in.Error)
		}
		if in.Progress.BytesTransferred > 0 {
			moved++
		}
		must(call(admin, "cancel", id))
	}
	if moved != transferring {
		t.Fatalf("only %d of %d jobs moved bytes during the load", moved, transferring)
	}
	if l := logs.String(); strings.Contains(strings.ToLower(l), "database is locked") || strings.Contains(l, "SQLITE_BUSY") {
		t.Fatalf("the engine's log says the database was locked:\n%s", l)
	}
}

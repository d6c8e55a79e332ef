//go:build unix

package cli_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/api"
	"ferry/backend/bits"
	"ferry/backend/ops"
)

// rssKiB reads a process's resident set size.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the engine's status: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// stalledReader subscribes to /v1/events on a raw socket, reads the
// headers and then never reads again.
func stalledReader(t *testing.T, socket string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", api.SocketAddr(socket))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: ferry\r\n\r\n", api.PathEvents)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("subscribe: %v %v", resp, err)
	}
	return c
}

// Issue 10, defect 6: five /v1/events readers that never read, under
// create/cancel load, took the engine from 58 to 294 MB in 90 s. Each
// subscriber's buffer is bounded now: the engine's memory stays flat, and
// a reader that does read goes on getting events. FERRY_STALL_SECONDS sets
// the length (the README's figure is from 90); FERRY_STALL_ENGINE runs
// another ferry binary as the engine (to measure an older one), and
// FERRY_STALL_READERS the number of stalled readers (0: the load alone).
func TestStalledReadersDoNotGrowTheEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test of 20 s or more")
	}
	seconds := 20
	if s := os.Getenv("FERRY_STALL_SECONDS"); s != "" {
		seconds, _ = strconv.Atoi(s)
	}
	e := newEnv(t)
	bin := ferryBin
	if b := os.Getenv("FERRY_STALL_ENGINE"); b != "" {
		bin = b
	}
	svc := exec.Command(bin, "service")
	svc.Env = e.environ()
	svc.Dir = e.dir
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	go svc.Wait()
	socket := filepath.Join(e.home, "ferry.sock")
	cl := api.NewClient(socket)
	defer cl.Close()
	ctx := context.Background()
	waitFor(t, 20*time.Second, "the engine", func() bool { _, err := cl.Hello(ctx); return err == nil })
	pid := e.enginePID()
	e.ok("config", "set", "maxJobsPerUser", "100000")
	e.ok("config", "set", "maxJobsPerMachine", "1000000")

	readers := 5
	if s := os.Getenv("FERRY_STALL_READERS"); s != "" {
		readers, _ = strconv.Atoi(s) // 0 measures the load alone
	}
	for range readers {
		c := stalledReader(t, socket)
		defer c.Close()
	}
	// One reader that keeps up: it must go on receiving.
	live, err := cl.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var liveEvents int
	var liveMu sync.Mutex
	go func() {
		for {
			if _, _, err := live.Next(); err != nil {
				return
			}
			liveMu.Lock()
			liveEvents++
			liveMu.Unlock()
		}
	}()
	defer live.Close()

	start := rssKiB(t, pid)
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				var in bits.JobInfo
				if err := cl.CallInto(ctx, "create", ops.Request{Args: []string{"load"}}, &in); err != nil {
					t.Errorf("create: %v", err)
					return
				}
				d := time.Since(t0)
				if _, err := cl.Call(ctx, "cancel", ops.Request{Args: []string{in.ID}}); err != nil {
					t.Errorf("cancel: %v", err)
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	peak, samples := start, []int{}
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		r := rssKiB(t, pid)
		samples = append(samples, r/1024)
		peak = max(peak, r)
	}
	wg.Wait()
	end := rssKiB(t, pid)
	slices.Sort(lat)
	q := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	liveMu.Lock()
	got := liveEvents
	liveMu.Unlock()
	t.Logf("engine RSS with %d stalled readers for %d s: %d MB at the start, %d MB at the end, %d MB at the peak (samples %v MB); "+
		"%d create/cancel pairs, create latency p50 %v p99 %v; the live reader got %d events",
		readers, seconds, start/1024, end/1024, peak/1024, samples, len(lat), q(0.5).Round(time.Microsecond), q(0.99).Round(time.Microsecond), got)
	// Measured over 20 s: the load alone grows the engine by about 11 MB,
	// with 5 stalled readers by 14 MB; before the buffers were bounded, by
	// 57 MB (and by 152 MB over 90 s).
	if grown := (peak - start) / 1024; grown >= 35 {
		t.Errorf("the engine grew by %d MB with stalled readers, want under 35 MB", grown)
	}
	if got < len(lat) {
		t.Errorf("the live reader got %d events for %d create/cancel pairs", got, len(lat))
	}
}

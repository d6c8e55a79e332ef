package transfer

import (
	"context"
	"errors"
	"ferry/backend/internal/testenv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/clock"
)

// The yield tests on a real shaped link (scripts/yield-net.sh): network
// namespaces of the test's own, nginx in the server's, a router shaping
// to 50 Mbit/s by tbf, joined to the client's by a veth pair (or through
// delayline, 20 ms each way); curl and a yielding download (this test
// binary, run again inside the client namespace) in the client's.

const (
	yieldLinkRate = 50e6 / 8 // bytes per second of the tbf shaping
	yieldServer   = "10.77.0.1"
)

// Environment of the helper run (TestYieldHelper) inside the client namespace.
const (
	envYieldURL     = "FERRY_YIELD_HELPER_URL"
	envYieldSeconds = "FERRY_YIELD_HELPER_SECONDS"
	envYieldOff     = "FERRY_YIELD_HELPER_FOREGROUND"
)

// needNetns skips without root or network namespaces and fails when a
// tool the shaped link needs is missing.
func needNetns(t *testing.T) {
	t.Helper()
	testenv.Need(t, os.Geteuid() == 0, "network namespaces need root (CI runs as root)")
	for _, tool := range []string{"ip", "tc", "nginx", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing (make deps installs it): %v", tool, err)
		}
	}
	probe := fmt.Sprintf("fyp%d", os.Getpid()%100000)
	if out, err := exec.Command("ip", "netns", "add", probe).CombinedOutput(); err != nil {
		testenv.Need(t, false, fmt.Sprintf("cannot create a network namespace here (%v: %s)", err, strings.TrimSpace(string(out))))
	}
	_ = exec.Command("ip", "netns", "del", probe).Run()
}

// The controller on a real kernel and a real bottleneck, without timing
// bounds (TestYieldOnShapedLink, make soak, has those): a yielding
// download on the plain shaped link sees the queueing delay curl's CUBIC
// builds (hundreds of milliseconds in tbf's 400 ms queue) through TCP_INFO
// and its read history, and shuts its window to the floor; once curl is
// gone the queue drains and the window opens again.
func TestYieldClampsOnShapedLink(t *testing.T) {
	needNetns(t)
	ns := fmt.Sprintf("fz%d", os.Getpid()%100000)
	srv, cli := shapedLink(t, ns, "0")
	url := startNginxIn(t, srv)
	h := startHelper(t, cli, url, 14, false)
	time.Sleep(3 * time.Second)
	curlRate(t, cli, url, 6)
	h.wait(t)
	var minBeside, maxAfter int
	var maxDelay time.Duration
	for _, line := range strings.Split(h.out.String(), "\n") {
		var at float64
		var bytes, w int
		var qd string
		if n, _ := fmt.Sscanf(line, "t=%f bytes=%d window=%d qdelay=%s", &at, &bytes, &w, &qd); n != 4 {
			continue
		}
		d, _ := time.ParseDuration(qd)
		switch {
		case at >= 5 && at < 9: // curl has run 2 s
			if minBeside == 0 || w < minBeside {
				minBeside = w
			}
			maxDelay = max(maxDelay, d)
		case at >= 11: // curl ended 2 s ago
			maxAfter = max(maxAfter, w)
		}
	}
	t.Logf("beside curl: smallest window %d, largest queueing delay %v; after it: largest window %d", minBeside, maxDelay, maxAfter)
	if minBeside == 0 || minBeside > 2*minWindow {
		t.Errorf("beside curl the window stayed at %d or more, want it shut to about %d", minBeside, minWindow)
	}
	if maxDelay < minTarget {
		t.Errorf("beside curl the largest queueing delay seen was %v, want more than the target %v", maxDelay, minTarget)
	}
	if maxAfter <= 4*minWindow {
		t.Errorf("after curl ended the window stayed at %d or less, want it open again", maxAfter)
	}
}

// shapedLink sets up scripts/yield-net.sh's link and removes it when the
// test ends, passed or not.
func shapedLink(t *testing.T, name, delay string) (srv, cli string) {
	t.Helper()
	script, err := filepath.Abs("../../scripts/yield-net.sh")
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	t.Cleanup(func() {
		if out, err := exec.Command(script, "down", name, state).CombinedOutput(); err != nil {
			t.Errorf("removing the namespaces: %v: %s", err, out)
		}
	})
	if out, err := exec.Command(script, "up", name, delay, state).CombinedOutput(); err != nil {
		t.Fatalf("setting up the shaped link: %v: %s", err, out)
	}
	return name + "-s", name + "-c"
}

// startNginxIn serves a large (sparse) file from nginx inside ns.
func startNginxIn(t *testing.T, ns string) string {
	t.Helper()
	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(www, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s;
  uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  server { listen %[2]s:8080; root %[3]s; }
}
`, dir, yieldServer, www)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, "nginx", "-c", filepath.Join(dir, "nginx.conf"), "-p", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := fmt.Sprintf("http://%s:8080/big.bin", yieldServer)
	for range 50 {
		if exec.Command("ip", "netns", "exec", strings.TrimSuffix(ns, "-s")+"-c", "curl", "-sf", "-o", "/dev/null", "-r", "0-0", url).Run() == nil {
			return url
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nginx did not answer in %s", ns)
	return ""
}

// curlRate is curl's download rate over secs seconds, in bytes per second.
func curlRate(t *testing.T, ns, url string, secs int) float64 {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "curl", "-s", "-o", "/dev/null", "--max-time", strconv.Itoa(secs),
		"-w", "%{size_download} %{time_total}", url).Output()
	// --max-time ends curl with exit status 28: the rate up to then is the measure.
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 28) {
		t.Fatalf("curl: %v", err)
	}
	var n, secsTaken float64
	if _, err := fmt.Sscan(string(out), &n, &secsTaken); err != nil || secsTaken <= 0 {
		t.Fatalf("curl printed %q", out)
	}
	return n / secsTaken
}

type helperRun struct {
	cmd *exec.Cmd
	out strings.Builder
}

// startHelper runs TestYieldHelper inside ns: a download through the HTTP
// driver with a Yielder (foreground: none) for secs seconds.
func startHelper(t *testing.T, ns, url string, secs int, foreground bool) *helperRun {
	t.Helper()
	h := &helperRun{cmd: exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestYieldHelper$", "-test.v")}
	// The trace (window and queueing delay every 0.5 s) is what
	// TestYieldClampsOnShapedLink reads.
	h.cmd.Env = append(os.Environ(), envYieldURL+"="+url, envYieldSeconds+"="+strconv.Itoa(secs), "FERRY_YIELD_TRACE=1")
	if foreground {
		h.cmd.Env = append(h.cmd.Env, envYieldOff+"=1")
	}
	h.cmd.Stdout, h.cmd.Stderr = &h.out, &h.out
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.cmd.Process.Kill(); _ = h.cmd.Wait() })
	return h
}

// wait returns the helper's rate in bytes per second.
func (h *helperRun) wait(t *testing.T) float64 {
	t.Helper()
	err := h.cmd.Wait()
	out := h.out.String()
	i := strings.Index(out, "yield-helper-rate ")
	if err != nil || i < 0 {
		t.Fatalf("the helper failed: %v\n%s", err, out)
	}
	var r float64
	fmt.Sscan(out[i+len("yield-helper-rate "):], &r)
	return r
}

// countTarget counts bytes and drops them.
type countTarget struct{ n atomic.Int64 }

func (c *countTarget) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }
func (c *countTarget) Reset() error                { c.n.Store(0); return nil }
func (c *countTarget) Sized(bits.Validator) error  { return nil }

// TestYieldHelper is the download half of TestYieldOnShapedLink, run by it
// inside the client namespace; on its own it does nothing.
func TestYieldHelper(t *testing.T) {
	url := os.Getenv(envYieldURL)
	if url == "" {
		t.Skip("run by TestYieldOnShapedLink")
	}
	secs, _ := strconv.Atoi(os.Getenv(envYieldSeconds))
	var y *Yielder
	if os.Getenv(envYieldOff) == "" {
		y = NewYielder(clock.Real{})
	}
	d := NewHTTP(HTTPConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	tgt := &countTarget{}
	start := time.Now()
	go func() {
		for ctx.Err() == nil {
			time.Sleep(500 * time.Millisecond)
			if y != nil && os.Getenv("FERRY_YIELD_TRACE") != "" {
				fmt.Fprintf(os.Stderr, "t=%.1f bytes=%d window=%d qdelay=%v\n", time.Since(start).Seconds(), tgt.n.Load(), y.Window(), y.QueueDelay())
			}
		}
	}()
	err := d.Download(ctx, Request{URL: url, Options: Options{Yield: y}}, tgt)
	if err != nil && ctx.Err() == nil {
		t.Fatalf("download: %v", err)
	}
	fmt.Printf("yield-helper-rate %.0f\n", float64(tgt.n.Load())/time.Since(start).Seconds())
}

func init() {
	if os.Getenv("FERRY_YIELD_TRACE") == "2" {
		t0 := time.Now()
		yieldTrace = func(sample, cur, base time.Duration, w float64, phase int) {
			fmt.Fprintf(os.Stderr, "%.3f sample=%v cur=%v base=%v w=%.0f phase=%d\n", time.Since(t0).Seconds(), sample, cur, base, w, phase)
		}
	}
	if v := os.Getenv("FERRY_YIELD_TARGET"); v != "" {
		fixed, _ := time.ParseDuration(v)
		targetFor = func(time.Duration) time.Duration { return fixed }
	}
}

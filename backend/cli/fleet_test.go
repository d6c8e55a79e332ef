//go:build unix

package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"ferry/backend/internal/testenv"
)

// fleet is SeaweedFS, instances of `ferry serve-uploads --store` on it,
// and nginx balancing round-robin over them.
type fleet struct {
	weed      *testenv.SeaweedFS
	prefix    string
	servers   []*uploadServer
	url       string // the balancer, "http://127.0.0.1:PORT/"
	accessLog string
}

func newFleet(t *testing.T, e *env, n int, extra ...string) *fleet {
	t.Helper()
	w, err := testenv.StartSeaweedFS(t.TempDir(), "fleet")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	for _, kv := range w.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	f := &fleet{weed: w, prefix: "uploads/"}
	var ups []string
	for range n {
		s := e.serveUploads(append([]string{"--listen", "127.0.0.1:0", "--store", "s3://fleet/" + f.prefix, "--s3-path-style"}, extra...)...)
		u, err := url.Parse(s.url)
		if err != nil {
			t.Fatal(err)
		}
		f.servers = append(f.servers, s)
		ups = append(ups, u.Host)
	}
	base, log := testenv.NginxBalancer(t, ups)
	f.url, f.accessLog = base+"/", log
	return f
}

// kill9 kills an instance the hard way.
func (s *uploadServer) kill9(t *testing.T) {
	t.Helper()
	s.stopped = true
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.done
}

func (f *fleet) object(t *testing.T, name string) []byte {
	t.Helper()
	out, err := f.weed.Client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("fleet"), Key: aws.String(f.prefix + name)})
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// leftovers: session objects and unfinished multipart uploads.
func (f *fleet) leftovers(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	keys, err := f.weed.Keys(ctx, f.prefix+".bits-sessions/")
	if err != nil {
		t.Fatal(err)
	}
	ups, err := f.weed.MultipartUploads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return append(keys, ups...)
}

// logLine is one request the balancer passed on.
type logLine struct {
	upstream string
	status   int
	seconds  float64
	length   int64
	packet   string
}

func (f *fleet) requests(t *testing.T) []logLine {
	t.Helper()
	b, err := os.ReadFile(f.accessLog)
	if err != nil {
		t.Fatal(err)
	}
	var out []logLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		p := strings.Fields(sc.Text())
		if len(p) < 5 {
			continue
		}
		var l logLine
		l.upstream = strings.TrimSuffix(p[0], ",")
		l.status, _ = strconv.Atoi(p[1])
		l.seconds, _ = strconv.ParseFloat(p[2], 64)
		l.length, _ = strconv.ParseInt(p[3], 10, 64)
		l.packet = strings.ToLower(p[4])
		out = append(out, l)
	}
	return out
}

// Upload jobs of `ferry` through nginx to two instances on SeaweedFS: the
// fragments of one upload alternate between the instances, one instance
// is killed with kill -9 in the middle, and every file arrives identical,
// with no session object and no multipart upload left behind.
func TestFleetUploadsSurviveKill9(t *testing.T) {
	e := newEnv(t)
	f := newFleet(t, e, 2)
	sizes := map[string]int{"small.bin": 1000, "medium.bin": 6<<20 + 3, "large.bin": 70<<20 + 12345, "exact.bin": 48 << 20}
	var names []string
	for n := range sizes {
		names = append(names, n)
	}
	sort.Strings(names)
	data := map[string][]byte{}
	jobs := map[string]string{}
	for _, n := range names {
		data[n] = randomBytes(t, sizes[n])
		src := e.writeFile(n, data[n], 0o644)
		id := strings.TrimSpace(e.ok("create", "--upload", n))
		e.ok("addfile", id, f.url+"in/"+n, src)
		e.ok("setminretrydelay", id, "5")
		jobs[n] = id
	}
	// The large one first, alone, until it is under way: the kill lands in
	// the middle of its session.
	e.ok("resume", jobs["large.bin"])
	waitFor(t, 120*time.Second, "the large upload under way", func() bool {
		var p map[string]float64
		e.okJSON(&p, "getprogress", jobs["large.bin"])
		return p["bytesTransferred"] > 0
	})
	// nginx alternates strictly, and this job's packets are the only ones:
	// the fragment in flight is at the instance that did not answer the
	// last one. That one dies.
	reqs := f.requests(t)
	victim := 0
	if u, _ := url.Parse(f.servers[0].url); len(reqs) > 0 && reqs[len(reqs)-1].upstream == u.Host {
		victim = 1
	}
	f.servers[victim].kill9(t)
	survivor := f.servers[1-victim]
	t.Logf("instance %d killed with kill -9 after %d requests", victim, len(reqs))
	for _, n := range names {
		if n != "large.bin" {
			e.ok("resume", jobs[n])
		}
	}
	for _, n := range names {
		if got := e.ok("wait", jobs[n], "--timeout", "240"); got != "TRANSFERRED\n" {
			t.Fatalf("%s: wait printed %q\nthe surviving instance:\n%s", n, got, survivor.stderrText())
		}
		e.ok("complete", jobs[n])
	}
	for _, n := range names {
		if got := f.object(t, "in/"+n); !bytes.Equal(got, data[n]) {
			t.Fatalf("%s differs in the store: %d bytes, want %d", n, len(got), len(data[n]))
		}
	}
	reqs = f.requests(t)
	perInstance := map[string]int{}
	var sent int64
	for _, r := range reqs {
		if r.packet == "fragment" {
			perInstance[r.upstream]++
			sent += r.length
		}
	}
	var uploaded int64
	for _, n := range names {
		uploaded += int64(sizes[n])
	}
	t.Logf("fragments per instance: %v; %d request bytes for %d file bytes (re-sent after the kill: about %d)",
		perInstance, sent, uploaded, sent-uploaded)
	uv, _ := url.Parse(f.servers[victim].url)
	if perInstance[uv.Host] == 0 || len(perInstance) < 2 {
		t.Fatalf("the fragments did not alternate between the instances: %v", perInstance)
	}
	// The killed instance's sessions were closed through the other one, and
	// its half-sent part was left out of the upload: nothing is left.
	waitFor(t, 10*time.Second, "no leftovers", func() bool { return len(f.leftovers(t)) == 0 })
	if st, body := httpGet(t, survivor.url+"healthz"); st != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", st, body)
	}
}

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	r, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(b)
}

package uploadserver_test

// The server on an S3 store (SeaweedFS, built by `make tools`): the
// protocol tests of the local store, unchanged, and what only a shared
// store has: instances that serve each other's sessions.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"ferry/backend/bits"
	"ferry/backend/internal/testenv"
	"ferry/backend/uploadserver"
	"ferry/backend/uploadserver/objstore"
)

// s3Place is a prefix of the test bucket that one test's server uses.
type s3Place struct {
	weed   *testenv.SeaweedFS
	prefix string // "name/"
}

var (
	s3Mu     sync.Mutex
	s3Places = map[*testing.T]*s3Place{}
	weedOnce sync.Once
	weed     *testenv.SeaweedFS
	weedErr  error
	weedDir  string
)

// s3For is the place of a test that runs on S3 (nil: it runs on a directory).
func s3For(t *testing.T) *s3Place {
	s3Mu.Lock()
	defer s3Mu.Unlock()
	return s3Places[t]
}

// sharedWeed starts one SeaweedFS for the package (stopped by TestMain).
func sharedWeed(t *testing.T) *testenv.SeaweedFS {
	t.Helper()
	weedOnce.Do(func() {
		weedDir, weedErr = os.MkdirTemp("", "ferry-h19-weed-")
		if weedErr == nil {
			weed, weedErr = testenv.StartSeaweedFS(weedDir, "ferry-test")
		}
	})
	if weedErr != nil {
		t.Fatal(weedErr)
	}
	return weed
}

func TestMain(m *testing.M) {
	code := m.Run()
	if weed != nil {
		weed.Stop()
	}
	if weedDir != "" {
		os.RemoveAll(weedDir)
	}
	os.Exit(code)
}

// onS3 runs f as a subtest whose servers keep everything below a prefix
// of their own in the shared SeaweedFS.
func onS3(t *testing.T, name string, f func(*testing.T)) {
	w := sharedWeed(t)
	t.Run(name, func(t *testing.T) {
		s3Mu.Lock()
		s3Places[t] = &s3Place{weed: w, prefix: fmt.Sprintf("%s-%d/", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())}
		s3Mu.Unlock()
		defer func() {
			s3Mu.Lock()
			delete(s3Places, t)
			s3Mu.Unlock()
		}()
		f(t)
	})
}

// open opens the store of the place, as serve-uploads --store would.
func (p *s3Place) open(t *testing.T) objstore.Store {
	t.Helper()
	for _, kv := range p.weed.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	st, err := objstore.OpenS3(context.Background(), "s3://"+p.weed.Bucket+"/"+p.prefix, objstore.S3Options{PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (p *s3Place) read(t *testing.T, name string) []byte {
	t.Helper()
	out, err := p.weed.Client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(p.weed.Bucket), Key: aws.String(p.prefix + name)})
	if err != nil {
		t.Fatalf("read %s from the store: %v", name, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// leftovers lists what the sessions left in the store: session objects
// and unfinished multipart uploads.
func (p *s3Place) leftovers(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	keys, err := p.weed.Keys(ctx, p.prefix+uploadserver.StateDirName+"/")
	if err != nil {
		t.Fatal(err)
	}
	ups, err := p.weed.MultipartUploads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups {
		if strings.HasPrefix(u, p.prefix) {
			keys = append(keys, "multipart upload "+u)
		}
	}
	return keys
}

// The protocol tests of the local store, unchanged, on S3 (those that do
// not look into the directory: symbolic links, part files, restarts).
func TestProtocolOnS3(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"ProtocolBasics", TestProtocolBasics},
		{"MissingContentLength", TestMissingContentLength},
		{"EmptyAndExactMultipleUploads", TestEmptyAndExactMultipleUploads},
		{"Limits", TestLimits},
		{"CloseOrCancelBeforeTheEnd", TestCloseOrCancelBeforeTheEnd},
		{"ReplyApplicationError", TestReplyApplicationError},
		{"NoReplyAndOverwrite", TestNoReplyAndOverwrite},
		{"FragmentToAnotherPathRefused", TestFragmentToAnotherPathRefused},
		{"StalledFragmentReleasesItsSession", TestStalledFragmentReleasesItsSession},
	} {
		onS3(t, tc.name, tc.f)
	}
}

// instances starts n servers on one store, as n machines behind a load
// balancer would be.
func instances(t *testing.T, n int, cfg uploadserver.Config) ([]*env, *s3Place) {
	var envs []*env
	var place *s3Place
	for i := range n {
		c := cfg
		e := newEnv(t, c)
		if i == 0 {
			place = e.s3
		}
		envs = append(envs, e)
	}
	return envs, place
}

func randomData(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Fragments alternate between two instances, small ones (staged) and
// large ones (parts of a multipart upload), and one is sent to both at
// once; Close-Session goes to a third. The upload is whole, its reply
// names its SHA-256, and nothing of the session is left in the store.
func TestInstancesShareSessions(t *testing.T) {
	onS3(t, "run", func(t *testing.T) {
		envs, place := instances(t, 3, uploadserver.Config{})
		a, b, c := envs[0], envs[1], envs[2]
		sizes := []int{1000, 3 << 20, 6 << 20, 10, 2 << 20, 5 << 20, 777}
		total := 0
		for _, n := range sizes {
			total += n
		}
		data := randomData(t, total)
		sid := a.create("/fleet/f.bin")
		off := 0
		var last resp
		for i, n := range sizes {
			e := []*env{a, b}[i%2]
			chunk := data[off : off+n]
			if i == 3 {
				// The same fragment to two instances at once: one stores it;
				// the other finds it stored (200) or the session moved (503).
				var wg sync.WaitGroup
				rs := make([]resp, 2)
				for j, x := range []*env{a, b} {
					wg.Add(1)
					go func() { defer wg.Done(); rs[j] = x.fragment("/fleet/f.bin", sid, chunk, int64(off), int64(total)) }()
				}
				wg.Wait()
				for _, r := range rs {
					if r.status != 200 && r.status != 503 {
						t.Fatalf("concurrent fragment: %d %v", r.status, r.h)
					}
				}
				if rs[0].status != 200 && rs[1].status != 200 {
					t.Fatalf("neither concurrent fragment was stored: %v %v", rs[0].h, rs[1].h)
				}
				off += n
				continue
			}
			last = e.fragment("/fleet/f.bin", sid, chunk, int64(off), int64(total))
			off += n
			if last.status != 200 || last.get("BITS-Received-Content-Range") != fmt.Sprint(off) {
				t.Fatalf("fragment %d: %d %v", i, last.status, last.h)
			}
		}
		if got := place.read(t, "fleet/f.bin"); !bytes.Equal(got, data) {
			t.Fatalf("the stored upload differs (%d bytes of %d)", len(got), len(data))
		}
		g, err := http.Get(strings.Replace(last.get("BITS-Reply-URL"), a.hs.URL, c.hs.URL, 1))
		if err != nil {
			t.Fatal(err)
		}
		var rep map[string]any
		err = json.NewDecoder(g.Body).Decode(&rep)
		g.Body.Close()
		sum := sha256.Sum256(data)
		if err != nil || rep["sha256"] != hex.EncodeToString(sum[:]) || rep["size"] != float64(total) {
			t.Fatalf("reply from the third instance: %v %v", rep, err)
		}
		if r := c.send("/fleet/f.bin", "Close-Session", nil, "BITS-Session-Id", sid); r.status != 200 {
			t.Fatalf("Close-Session on the third instance: %d", r.status)
		}
		if left := place.leftovers(t); len(left) != 0 {
			t.Fatalf("left in the store: %v", left)
		}
		// A cancelled session with a part on its way leaves nothing either.
		sid = b.create("/fleet/g.bin")
		b.fragment("/fleet/g.bin", sid, data[:6<<20], 0, int64(total))
		if r := a.send("/fleet/g.bin", "Cancel-Session", nil, "BITS-Session-Id", sid); r.status != 200 {
			t.Fatalf("Cancel-Session: %d", r.status)
		}
		if left := place.leftovers(t); len(left) != 0 {
			t.Fatalf("left after a cancel: %v", left)
		}
	})
}

// A flood of empty Create-Sessions from one address fills the table; a
// real upload from the same address after it goes through, the sessions
// that give way are the oldest empty ones, and the flood that goes on
// cannot push out the upload once it has bytes. No cap per address: the
// flood itself held every place.
func TestEmptySessionFlood(t *testing.T) {
	run := func(t *testing.T) {
		const max = 12
		e := newEnv(t, uploadserver.Config{MaxSessions: max, EvictIdle: time.Second})
		var mu sync.Mutex
		now := time.Now()
		uploadserver.SetNow(e.srv, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		var flood []string
		create := func() (resp, string) {
			r := e.send("/flood.bin", "Create-Session", nil, "BITS-Supported-Protocols", uploadserver.Protocol)
			return r, r.get("BITS-Session-Id")
		}
		for range max {
			r, sid := create()
			if r.status != 200 {
				t.Fatalf("flood Create-Session %d: %d", len(flood), r.status)
			}
			flood = append(flood, sid)
		}
		// Full, and every session fresh: refused for now (the client retries).
		wantStatus(t, e.send("/real.bin", "Create-Session", nil, "BITS-Supported-Protocols", uploadserver.Protocol), 503, bits.HTTPError(503))
		advance(2 * time.Second)
		real := e.create("/real.bin")
		data := []byte("the real upload, in two fragments")
		if r := e.fragment("/real.bin", real, data[:10], 0, int64(len(data))); r.status != 200 {
			t.Fatalf("real upload's first fragment: %d %v", r.status, r.h)
		}
		// The flood goes on, long past every timeout of an empty session's place.
		for range 2 * max {
			advance(2 * time.Second)
			create()
		}
		if r := e.fragment("/real.bin", real, data[10:], 10, int64(len(data))); r.status != 200 {
			t.Fatalf("real upload's last fragment after the flood: %d %v", r.status, r.h)
		}
		if got := e.stored("real.bin"); !bytes.Equal(got, data) {
			t.Fatalf("stored %q", got)
		}
		// The first flood sessions gave way first.
		wantStatus(t, e.fragment("/flood.bin", flood[0], []byte("x"), 0, 1), 500, bits.BG_E_SESSION_NOT_FOUND)
		if n := e.srv.OpenSessions(); n > max {
			t.Fatalf("%d sessions open, the limit is %d", n, max)
		}
	}
	t.Run("dir", run)
	onS3(t, "s3", run)
}

// Abandoned sessions expire, whichever instance sweeps, and two sweeping
// at once is safe: their staged bytes and multipart uploads are gone.
func TestExpiryOnS3(t *testing.T) {
	onS3(t, "run", func(t *testing.T) {
		envs, place := instances(t, 2, uploadserver.Config{})
		var mu sync.Mutex
		now := time.Now()
		for _, e := range envs {
			uploadserver.SetNow(e.srv, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
		}
		a := envs[0]
		data := randomData(t, 7<<20)
		big := a.create("/x/big.bin") // a part, then staged bytes
		a.fragment("/x/big.bin", big, data[:6<<20], 0, 100<<20)
		a.fragment("/x/big.bin", big, data[6<<20:], 6<<20, 100<<20)
		a.create("/x/empty.bin")
		if len(place.leftovers(t)) == 0 {
			t.Fatal("nothing in the store")
		}
		mu.Lock()
		now = now.Add(uploadserver.DefaultSessionTimeout + time.Hour)
		mu.Unlock()
		var wg sync.WaitGroup
		for _, e := range envs {
			wg.Add(1)
			go func() { defer wg.Done(); uploadserver.Sweep(e.srv) }()
		}
		wg.Wait()
		if left := place.leftovers(t); len(left) != 0 {
			t.Fatalf("left after the sweep: %v", left)
		}
		wantStatus(t, a.fragment("/x/big.bin", big, []byte("x"), 7<<20, 100<<20), 500, bits.BG_E_SESSION_NOT_FOUND)
	})
}

// /healthz answers while the store does; /metrics counts the fragments,
// bytes and errors.
func TestHealthAndMetricsOnS3(t *testing.T) {
	onS3(t, "run", func(t *testing.T) {
		e := newEnv(t, uploadserver.Config{})
		get := func(path string) (int, string) {
			r, err := http.Get(e.hs.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Body.Close()
			b, _ := io.ReadAll(r.Body)
			return r.StatusCode, string(b)
		}
		if st, body := get(uploadserver.HealthPath); st != 200 || body != "ok\n" {
			t.Fatalf("healthz: %d %q", st, body)
		}
		sid := e.create("/m.bin")
		e.fragment("/m.bin", sid, []byte("12345"), 0, 10)
		wantStatus(t, e.fragment("/m.bin", "{00000000-0000-0000-0000-000000000000}", []byte("x"), 0, 1), 500, bits.BG_E_SESSION_NOT_FOUND)
		_, body := get(uploadserver.MetricsPath)
		for _, want := range []string{"ferry_upload_fragments_total 2", "ferry_upload_bytes_stored_total 5",
			`ferry_upload_errors_total{kind="BG_E_SESSION_NOT_FOUND"} 1`, "ferry_upload_sessions_open 1",
			`ferry_upload_store_seconds_count{op="put_conditional"}`} {
			if !strings.Contains(body, want) {
				t.Fatalf("metrics lack %q:\n%s", want, body)
			}
		}
	})
	// A store that does not answer is unhealthy.
	for _, kv := range sharedWeed(t).Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
	st, err := objstore.OpenS3(context.Background(), "s3://nobucket/p", objstore.S3Options{PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := uploadserver.New(uploadserver.Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	r, err := http.Get(hs.URL + uploadserver.HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 503 {
		t.Fatalf("healthz with the store down: %d", r.StatusCode)
	}
}

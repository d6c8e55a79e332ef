package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/clock"
	"ferry/backend/store"
	"ferry/backend/transfer"
)

// harness is a real engine over a temporary store, with real drivers and a
// fake clock that only moves when a test says so.
type harness struct {
	t     testing.TB
	m     *Manager
	clk   *clock.Fake
	dir   string
	db    string
	st    *store.Store
	cfg   Config
	evs   <-chan Event
	unsub func()
}

func newHarness(t testing.TB, mod ...func(*Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{t: t, clk: clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)), dir: dir, db: filepath.Join(dir, "ferry.db")}
	h.cfg = Config{
		Clock:   h.clk,
		Drivers: []transfer.Driver{transfer.NewHTTP(transfer.HTTPConfig{StallTimeout: time.Second}), transfer.NewFile()},
		Owner:   "tester",
		Logger:  slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		// The upload tests' files are a few fragments of this size.
		UploadFragmentSize: 4 << 20,
	}
	for _, f := range mod {
		f(&h.cfg)
	}
	h.open()
	return h
}

func (h *harness) open() {
	h.t.Helper()
	st, err := store.Open(h.db)
	if err != nil {
		h.t.Fatal(err)
	}
	h.st = st
	cfg := h.cfg
	cfg.Store = st
	m, err := New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.m = m
	h.evs, h.unsub = m.Subscribe()
	m.Start()
	h.t.Cleanup(h.close)
}

func (h *harness) close() {
	if h.m == nil {
		return
	}
	h.unsub()
	h.m.Close()
	h.st.Close()
	h.m = nil
}

// restart closes the engine cleanly and opens a new one on the same store.
func (h *harness) restart() {
	h.close()
	h.open()
}

func (h *harness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

// job creates a download job with files (remote, local pairs) and returns its id.
func (h *harness) job(name string, pairs ...string) string {
	h.t.Helper()
	in, err := h.m.CreateJob(name, bits.TypeDownload)
	h.must(err)
	for i := 0; i+1 < len(pairs); i += 2 {
		h.must(h.m.AddFile(in.ID, FileSpec{RemoteName: pairs[i], LocalName: pairs[i+1]}))
	}
	return in.ID
}

func (h *harness) info(id string) bits.JobInfo {
	h.t.Helper()
	in, err := h.m.Info(id)
	h.must(err)
	return in
}

// waitState waits (in real time, generously) until the job is in state s.
func (h *harness) waitState(id string, s bits.JobState) bits.JobInfo {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		in := h.info(id)
		if in.State == s {
			return in
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("job %s: state %s, waited for %s (error %+v)", id, in.State, s, in.Error)
		}
		select {
		case <-h.evs:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// advance moves the fake clock and lets the scheduler run.
func (h *harness) advance(d time.Duration) {
	h.clk.Advance(d)
	h.m.Kick()
}

func (h *harness) path(name string) string { return filepath.Join(h.dir, name) }

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha(b)
}

// tempFiles lists Ferry's temporary files in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".BIT*.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func wantCode(t *testing.T, err error, code bits.HRESULT) {
	t.Helper()
	if got := bits.CodeOf(err); got != code {
		t.Fatalf("got %s (%v), want %s", got.Name(), err, code.Name())
	}
}

func newSlowHTTP() transfer.Driver {
	return transfer.NewHTTP(transfer.HTTPConfig{StallTimeout: time.Minute})
}

// testWriter sends the engine's log to the test's log, shown on failure.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

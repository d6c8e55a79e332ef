package uploadserver_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/uploadserver"
)

// createFrom sends an empty Create-Session as if from addr (the handler
// sees RemoteAddr) and returns the status and session id.
func createFrom(s *uploadserver.Server, addr, name string) (int, string) {
	req := httptest.NewRequest(uploadserver.Method, "/"+name, http.NoBody)
	req.RemoteAddr = addr
	req.Header.Set("BITS-Packet-Type", "Create-Session")
	req.Header.Set("BITS-Supported-Protocols", uploadserver.Protocol)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w.Code, w.Header().Get("BITS-Session-Id")
}

// 50 empty Create-Session packets from one address used to take every
// session of the server: every later upload got 503, for 14 days.
func TestOneAddressCannotTakeEverySession(t *testing.T) {
	e := newEnv(t, uploadserver.Config{})
	held := 0
	for i := range 50 {
		status, _ := createFrom(e.srv, "192.0.2.7:40000", "flood/"+strings.Repeat("x", i+1))
		switch status {
		case 200:
			held++
		case 503:
		default:
			t.Fatalf("Create-Session %d: status %d", i, status)
		}
	}
	t.Logf("one address holds %d sessions", held)
	if held != uploadserver.DefaultMaxSessionsPerClient {
		t.Fatalf("one address holds %d sessions, want %d", held, uploadserver.DefaultMaxSessionsPerClient)
	}
	// Everyone else still uploads, through the real listener (127.0.0.1).
	sid := e.create("/other.bin")
	if r := e.fragment("/other.bin", sid, []byte("fine"), 0, 4); r.status != 200 || string(e.stored("other.bin")) != "fine" {
		t.Fatalf("another client's upload: %d %v", r.status, r.h)
	}
	// The total limit still holds across addresses.
	e2 := newEnv(t, uploadserver.Config{MaxSessions: 3, MaxSessionsPerClient: 2})
	codes := []int{}
	for i, addr := range []string{"192.0.2.1:1", "192.0.2.1:2", "192.0.2.1:3", "192.0.2.2:1", "192.0.2.3:1"} {
		c, _ := createFrom(e2.srv, addr, "t"+strings.Repeat("y", i+1))
		codes = append(codes, c)
	}
	if want := []int{200, 200, 503, 200, 503}; !equalInts(codes, want) {
		t.Fatalf("statuses %v, want %v", codes, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A session that never received a byte expires within minutes; one with
// bytes after the idle timeout (24 h by default, no longer 14 days).
func TestSessionsExpire(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, uploadserver.Config{Dir: dir})
	var mu sync.Mutex
	now := time.Now()
	uploadserver.SetNow(e.srv, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock(); uploadserver.Sweep(e.srv) }

	empty := e.create("/empty.bin")
	started := e.create("/started.bin")
	e.fragment("/started.bin", started, []byte("abc"), 0, 10)
	advance(4 * time.Minute)
	if n := e.srv.OpenSessions(); n != 2 {
		t.Fatalf("%d sessions after 4 minutes, want 2", n)
	}
	advance(2 * time.Minute)
	if n := e.srv.OpenSessions(); n != 1 {
		t.Fatalf("%d sessions after 6 minutes, want the one with bytes", n)
	}
	// The client of the expired session is told to start over.
	wantStatus(t, e.fragment("/empty.bin", empty, []byte("a"), 0, 1), 500, bits.BG_E_SESSION_NOT_FOUND)
	advance(23 * time.Hour)
	if n := e.srv.OpenSessions(); n != 1 {
		t.Fatalf("%d sessions after 23 h idle, want 1", n)
	}
	advance(time.Hour)
	if n := e.srv.OpenSessions(); n != 0 {
		t.Fatalf("%d sessions after 24 h idle, want 0", n)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, uploadserver.StateDirName)); len(entries) != 0 {
		t.Fatalf("expired sessions left files: %v", entries)
	}

	// The timeouts are configuration (flags of serve-uploads).
	e = newEnv(t, uploadserver.Config{EmptySessionTimeout: time.Hour, SessionTimeout: 2 * time.Hour})
	now2 := time.Now()
	uploadserver.SetNow(e.srv, func() time.Time { return now2 })
	e.create("/x.bin")
	now2 = now2.Add(59 * time.Minute)
	uploadserver.Sweep(e.srv)
	if e.srv.OpenSessions() != 1 {
		t.Fatal("an empty session expired before its configured hour")
	}
	now2 = now2.Add(2 * time.Minute)
	uploadserver.Sweep(e.srv)
	if e.srv.OpenSessions() != 0 {
		t.Fatal("an empty session outlived its configured hour")
	}
}

// An unreadable session record was dropped and its received bytes deleted;
// it is now set aside with them, and the other sessions are served.
func TestUnreadableSessionRecordIsSetAside(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, uploadserver.Config{Dir: dir})
	bad := e.create("/bad.bin")
	e.fragment("/bad.bin", bad, []byte("precious"), 0, 20)
	good := e.create("/good.bin")
	e.fragment("/good.bin", good, []byte("0123"), 0, 8)
	e.hs.Close()
	e.srv.Close()
	state := filepath.Join(dir, uploadserver.StateDirName)
	key := strings.Trim(bad, "{}")
	if err := os.WriteFile(filepath.Join(state, key+".json"), []byte(`{"id":"{`+key+`}","na`), 0o600); err != nil {
		t.Fatal(err)
	}

	e = newEnv(t, uploadserver.Config{Dir: dir})
	if n := e.srv.OpenSessions(); n != 1 {
		t.Fatalf("%d sessions after restart, want the good one", n)
	}
	un := e.srv.Unreadable()
	if len(un) != 1 || un[0].Key != key || !strings.Contains(un[0].Reason, "unreadable record") {
		t.Fatalf("Unreadable = %+v", un)
	}
	part, err := os.ReadFile(filepath.Join(state, "unreadable", key+".part"))
	if err != nil || string(part) != "precious" {
		t.Fatalf("the received bytes were not kept: %q %v", part, err)
	}
	if _, err := os.Stat(filepath.Join(state, "unreadable", key+".json")); err != nil {
		t.Fatal(err)
	}
	if r := e.fragment("/good.bin", good, []byte("4567"), 4, 8); r.status != 200 || string(e.stored("good.bin")) != "01234567" {
		t.Fatalf("the good session after restart: %d %v", r.status, r.h)
	}
	wantStatus(t, e.fragment("/bad.bin", bad, []byte("x"), 8, 20), 500, bits.BG_E_SESSION_NOT_FOUND)
	// A second restart leaves the set-aside files alone.
	e.hs.Close()
	e.srv.Close()
	newEnv(t, uploadserver.Config{Dir: dir})
	if _, err := os.Stat(filepath.Join(state, "unreadable", key+".part")); err != nil {
		t.Fatalf("set-aside files removed by the next start: %v", err)
	}
}

package uploadserver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/uploadserver"
)

// bitsClient sends packets from one local address (127.0.0.2 … are
// loopback addresses on Linux too).
func bitsClient(t *testing.T, local string) *http.Client {
	t.Helper()
	if l, err := net.Listen("tcp", local+":0"); err != nil {
		t.Skipf("%s is not a local address here: %v", local, err) // macOS has 127.0.0.1 alone
	} else {
		l.Close()
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// packet sends one BITS packet with client c and returns status and Ack headers.
func packet(t *testing.T, c *http.Client, url, typ string, body []byte, hdr ...string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(uploadserver.Method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("BITS-Packet-Type", typ)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return r.StatusCode, r.Header
}

// Seven addresses × 8 sessions, each with one byte of a huge declared
// file, used to fill all 50 sessions for 24 hours. Declared sizes are now
// reserved against the free space, and a full table gives way to a new
// session: an honest client from another address uploads 8 s later.
func TestAFewAddressesCannotHoldTheServer(t *testing.T) {
	e := newEnv(t, uploadserver.Config{})
	var mu sync.Mutex
	now := time.Now()
	uploadserver.SetNow(e.srv, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	uploadserver.SetDiskFree(e.srv, func() (int64, error) { return 100 << 30, nil })
	held, refused := 0, 0
	for i := 2; i <= 8; i++ {
		c := bitsClient(t, fmt.Sprintf("127.0.0.%d", i))
		for j := range 8 {
			name := fmt.Sprintf("/flood/%d-%d.bin", i, j)
			st, h := packet(t, c, e.hs.URL+name, "Create-Session", nil, "BITS-Supported-Protocols", uploadserver.Protocol)
			if st != 200 {
				continue
			}
			held++
			// Half declare 10^12 bytes (beyond the 100 GiB free), half a
			// small file they never finish.
			total := "1000000000000"
			if j%2 == 1 {
				total = "1000"
			}
			st, _ = packet(t, c, e.hs.URL+name, "Fragment", []byte("x"), "BITS-Session-Id", h.Get("BITS-Session-Id"),
				"Content-Range", "bytes 0-0/"+total)
			if st != 200 {
				refused++
			}
		}
	}
	t.Logf("the flood holds %d sessions; %d declared sizes refused", held, refused)
	if held != uploadserver.DefaultMaxSessions || refused == 0 {
		t.Fatalf("the flood holds %d sessions, %d refused fragments", held, refused)
	}
	mu.Lock()
	now = now.Add(8 * time.Second)
	mu.Unlock()
	sid := e.create("/honest.bin")
	if r := e.fragment("/honest.bin", sid, []byte("honest"), 0, 6); r.status != 200 || string(e.stored("honest.bin")) != "honest" {
		t.Fatalf("the honest upload: %d %v", r.status, r.h)
	}
	if n := e.srv.OpenSessions(); n != uploadserver.DefaultMaxSessions {
		t.Fatalf("%d sessions open, want %d", n, uploadserver.DefaultMaxSessions)
	}
	// The evicted session's client is told to start over; its files are gone.
	entries, _ := os.ReadDir(filepath.Join(e.dir, uploadserver.StateDirName))
	if len(entries) != 2*uploadserver.DefaultMaxSessions {
		t.Fatalf("%d session files for %d sessions", len(entries), uploadserver.DefaultMaxSessions)
	}
	// Busy sessions do not give way: with every session fresh, a new one is refused.
	e2 := newEnv(t, uploadserver.Config{MaxSessions: 2})
	e2.create("/a.bin")
	e2.create("/b.bin")
	wantStatus(t, e2.send("/c.bin", "Create-Session", nil, "BITS-Supported-Protocols", uploadserver.Protocol), 503, bits.HTTPError(503))
}

// A declared total is reserved at the first fragment, against the quota
// and the free space, and released when its session ends.
func TestDeclaredSizesAreReserved(t *testing.T) {
	e := newEnv(t, uploadserver.Config{Quota: 1000})
	sid := e.create("/big.bin")
	wantStatus(t, e.fragment("/big.bin", sid, []byte("x"), 0, 1001), 500, bits.BG_E_TOO_LARGE)
	a := e.create("/a.bin")
	if r := e.fragment("/a.bin", a, []byte("a"), 0, 600); r.status != 200 {
		t.Fatalf("600 of a quota of 1000: %d %v", r.status, r.h)
	}
	b := e.create("/b.bin")
	wantStatus(t, e.fragment("/b.bin", b, []byte("b"), 0, 600), 503, bits.HTTPError(503))
	if r := e.send("/a.bin", "Cancel-Session", nil, "BITS-Session-Id", a); r.status != 200 {
		t.Fatalf("Cancel-Session: %d", r.status)
	}
	if r := e.fragment("/b.bin", b, []byte("b"), 0, 600); r.status != 200 {
		t.Fatalf("after the cancel: %d %v", r.status, r.h)
	}

	// The free space: what is still to come of every upload must fit.
	e = newEnv(t, uploadserver.Config{})
	uploadserver.SetDiskFree(e.srv, func() (int64, error) { return 1000, nil })
	sid = e.create("/huge.bin")
	wantStatus(t, e.fragment("/huge.bin", sid, []byte("x"), 0, 1_000_000_000_000), 503, bits.ERROR_DISK_FULL)
	c := e.create("/c.bin")
	e.fragment("/c.bin", c, []byte("c"), 0, 700)
	d := e.create("/d.bin")
	wantStatus(t, e.fragment("/d.bin", d, []byte("d"), 0, 700), 503, bits.ERROR_DISK_FULL)
	// An idle session's reservation gives way.
	var mu sync.Mutex
	now := time.Now().Add(time.Minute)
	uploadserver.SetNow(e.srv, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	if r := e.fragment("/d.bin", d, []byte("d"), 0, 700); r.status != 200 {
		t.Fatalf("beside an idle session: %d %v", r.status, r.h)
	}
	wantStatus(t, e.fragment("/c.bin", c, []byte("c"), 1, 700), 500, bits.BG_E_SESSION_NOT_FOUND)
}

// A fragment sent to another URL with a valid session id landed in that
// session's file; it is refused, and the session goes on at its own URL.
func TestFragmentToAnotherPathRefused(t *testing.T) {
	e := newEnv(t, uploadserver.Config{})
	sid := e.create("/battery/f.bin")
	e.fragment("/battery/f.bin", sid, []byte("ab"), 0, 4)
	wantStatus(t, e.fragment("/other/path.bin", sid, []byte("XY"), 2, 4), 400, bits.BG_E_SESSION_NOT_FOUND)
	wantStatus(t, e.send("/other/path.bin", "Cancel-Session", nil, "BITS-Session-Id", sid), 400, bits.BG_E_SESSION_NOT_FOUND)
	if r := e.fragment("/battery/f.bin", sid, []byte("cd"), 2, 4); r.status != 200 || string(e.stored("battery/f.bin")) != "abcd" {
		t.Fatalf("the session at its own URL: %d %v", r.status, r.h)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "other")); !os.IsNotExist(err) {
		t.Fatalf("something was stored under /other: %v", err)
	}
}

// rawConn opens a connection and sends head (a request without its body).
func rawConn(t *testing.T, hostport, head string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", hostport, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// Bodies had no deadline: connections that sent a header with a
// Content-Length and no body stayed open for good.
func TestStalledBodiesAreCut(t *testing.T) {
	e := newEnv(t, uploadserver.Config{BodyTimeout: 500 * time.Millisecond, MinBodyRate: 1000})
	host := e.hs.Listener.Addr().String()
	sid := e.create("/s.bin")
	var conns []net.Conn
	for i := range 40 {
		typ, extra := "Ping", ""
		if i%2 == 1 {
			typ, extra = "Fragment", "BITS-Session-Id: "+sid+"\r\nContent-Range: bytes 0-999999/1000000\r\n"
		}
		conns = append(conns, rawConn(t, host, "BITS_POST /s.bin HTTP/1.1\r\nHost: x\r\nBITS-Packet-Type: "+typ+"\r\n"+
			extra+"Content-Length: 1000000\r\n\r\n"))
	}
	start := time.Now()
	for i, c := range conns {
		if !closedWithin(c, 10*time.Second-time.Since(start)) {
			t.Fatalf("connection %d still open after %v", i, time.Since(start))
		}
	}
	t.Logf("40 stalled connections closed within %v", time.Since(start).Round(time.Millisecond))
}

// A fragment that stopped after 3 of its 100 bytes kept its session
// locked: Close-Session waited for good and the session never expired.
func TestStalledFragmentReleasesItsSession(t *testing.T) {
	e := newEnv(t, uploadserver.Config{BodyTimeout: 500 * time.Millisecond, MinBodyRate: 1000})
	host := e.hs.Listener.Addr().String()
	var mu sync.Mutex
	now := time.Now()
	uploadserver.SetNow(e.srv, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	stall := func(name, sid string) net.Conn {
		return rawConn(t, host, "BITS_POST /"+name+" HTTP/1.1\r\nHost: x\r\nBITS-Packet-Type: Fragment\r\nBITS-Session-Id: "+sid+
			"\r\nContent-Range: bytes 0-99/100\r\nContent-Length: 100\r\n\r\nabc")
	}
	// Close-Session gets through once the stalled fragment's deadline passes.
	a := e.create("/a.bin")
	stall("a.bin", a)
	time.Sleep(100 * time.Millisecond) // the fragment holds the session
	done := make(chan resp, 1)
	go func() { done <- e.send("/a.bin", "Close-Session", nil, "BITS-Session-Id", a) }()
	select {
	case r := <-done:
		if r.status != 200 {
			t.Fatalf("Close-Session: %d %v", r.status, r.h)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close-Session still waits for the stalled fragment")
	}
	// The partial bytes do not count: the session expires as an empty one.
	b := e.create("/b.bin")
	if c := stall("b.bin", b); !closedWithin(c, 10*time.Second) {
		t.Fatal("the stalled fragment's connection is still open")
	}
	mu.Lock()
	now = now.Add(uploadserver.DefaultEmptySessionTimeout + time.Minute)
	mu.Unlock()
	uploadserver.Sweep(e.srv)
	if n := e.srv.OpenSessions(); n != 0 {
		t.Fatalf("%d sessions after the empty-session timeout, want 0", n)
	}
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

// Serve caps its connections; at the cap, idle keep-alive connections
// make room for new ones, and stalled ones hold a slot only until their
// deadline.
func TestConnectionsAreCapped(t *testing.T) {
	s, err := uploadserver.New(uploadserver.Config{Dir: t.TempDir(), MaxConnections: 3, BodyTimeout: time.Second,
		MinBodyRate: 1000, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, l) }()
	defer func() { cancel(); <-served }()
	url := "http://" + l.Addr().String() + "/"
	ping := func() int {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
		st, _ := packet(t, c, url, "Ping", nil)
		return st // its connection stays open, idle
	}
	// Idle keep-alive connections do not starve a new client.
	for i := range 5 {
		if st := ping(); st != 200 {
			t.Fatalf("ping %d: %d", i, st)
		}
	}
	// Three stalled bodies hold the three slots until their deadline:
	// a fourth client waits for it, then is served.
	for range 3 {
		rawConn(t, l.Addr().String(), "BITS_POST /x HTTP/1.1\r\nHost: x\r\nBITS-Packet-Type: Ping\r\nContent-Length: 1000\r\n\r\n")
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if st := ping(); st != 200 {
		t.Fatalf("ping beside stalled bodies: %d", st)
	}
	waited := time.Since(start)
	t.Logf("a new connection waited %v for a slot", waited.Round(time.Millisecond))
	if waited < 300*time.Millisecond {
		t.Fatalf("served after %v: the stalled connections were not counted", waited)
	}
}

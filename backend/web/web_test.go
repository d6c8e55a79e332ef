package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"ferry/backend/api"
	"ferry/backend/api/wire"
	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/ops"
)

const token = "s3cret"

// fakeEngine answers calls from a func and feeds subscribers by hand.
type fakeEngine struct {
	call func(op string, r ops.Request) (json.RawMessage, error)

	mu      sync.Mutex
	streams []*fakeStream
	open    int // subscriptions not closed yet
	subErr  error
}

// openStreams is how many subscriptions are still open.
func (f *fakeEngine) openStreams() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open
}

func (f *fakeEngine) Call(_ context.Context, op string, r ops.Request) (json.RawMessage, error) {
	return f.call(op, r)
}

func (f *fakeEngine) Subscribe(context.Context) (Stream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subErr != nil {
		return nil, f.subErr
	}
	s := &fakeStream{evs: make(chan engine.Event, 1024), done: make(chan struct{}), eng: f}
	f.streams = append(f.streams, s)
	f.open++
	return s, nil
}

func (f *fakeEngine) stream(t *testing.T) *fakeStream {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		n := len(f.streams)
		f.mu.Unlock()
		if n > 0 {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.streams[n-1]
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no subscription")
	return nil
}

type fakeStream struct {
	evs  chan engine.Event
	done chan struct{}
	once sync.Once
	eng  *fakeEngine
}

func (s *fakeStream) Next() (engine.Event, []byte, error) {
	select {
	case ev, ok := <-s.evs:
		if !ok {
			return engine.Event{}, nil, api.ErrStreamEnded
		}
		return ev, nil, nil
	case <-s.done:
		return engine.Event{}, nil, errors.New("closed")
	}
}

func (s *fakeStream) Close() error {
	s.once.Do(func() {
		close(s.done)
		s.eng.mu.Lock()
		s.eng.open--
		s.eng.mu.Unlock()
	})
	return nil
}

func newTestServer(t *testing.T, eng Engine) (*Server, *httptest.Server) {
	t.Helper()
	return newTestServerWith(t, Options{Engine: eng})
}

func newTestServerWith(t *testing.T, o Options) (*Server, *httptest.Server) {
	t.Helper()
	assets := fstest.MapFS{
		"index.html":    {Data: []byte("<!doctype html><title>Ferry</title><div id=app></div>")},
		"assets/app.js": {Data: []byte("console.log(1)")},
	}
	o.Assets, o.Token, o.Version = assets, token, "test"
	s, err := newServer(o, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.once.Do(func() { close(s.done) })
		ts.Close()
	})
	return s, ts
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func get(t *testing.T, url string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := (&http.Client{CheckRedirect: noRedirect}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// The API and the event stream need the token in an Authorization header;
// the token in the query or in a cookie does not do (cookies reach every
// port of the host). The static files pass without it: they hold no secret.
func TestTheAPINeedsTheTokenInAHeader(t *testing.T) {
	_, ts := newTestServer(t, &fakeEngine{})
	for _, c := range []struct {
		path string
		hdr  map[string]string
	}{
		{"/v1/meta", nil},
		{"/v1/events", nil},
		{"/v1/meta?token=" + token, nil},
		{"/v1/events?token=" + token, nil},
		{"/v1/meta", map[string]string{"Cookie": "ferry_token_4242=" + token}},
		{"/v1/meta", map[string]string{"Authorization": "Bearer wrong"}},
		{"/v1/meta", map[string]string{"Authorization": token}},
	} {
		if resp := get(t, ts.URL+c.path, c.hdr); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s %v: %s, want 401", c.path, c.hdr, resp.Status)
		}
	}
	resp, err := http.Post(ts.URL+"/v1/call", "application/json", strings.NewReader(`{"op":"list"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep wire.Reply
	json.NewDecoder(resp.Body).Decode(&rep)
	if resp.StatusCode != http.StatusUnauthorized || rep.Error == nil || rep.Error.Name != "E_ACCESSDENIED" {
		t.Fatalf("POST /v1/call without the token: %s %+v", resp.Status, rep.Error)
	}
	if resp := get(t, ts.URL+"/v1/meta", map[string]string{"Authorization": "Bearer " + token}); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/meta with the token: %s", resp.Status)
	}
	for _, p := range []string{"/", "/?token=" + token, "/assets/app.js"} {
		resp := get(t, ts.URL+p, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || strings.Contains(string(body), token) {
			t.Errorf("GET %s: %s, token in the body %v; want the file, without the token", p, resp.Status, strings.Contains(string(body), token))
		}
		if c := resp.Header.Values("Set-Cookie"); len(c) != 0 {
			t.Errorf("GET %s sets cookies %q", p, c)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP = %q", p, csp)
		}
	}
}

// A browser that still holds an earlier version's token cookie gets it
// deleted, whichever port's it is: it would go on reaching every server on
// the host.
func TestOldTokenCookiesAreExpired(t *testing.T) {
	_, ts := newTestServer(t, &fakeEngine{})
	resp := get(t, ts.URL+"/", map[string]string{"Cookie": "ferry_token_4242=" + token + "; ferry_token_9999=x; theirs=1"})
	expired := map[string]bool{}
	for _, c := range resp.Cookies() {
		if c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("cookie %s=%q max-age %d, want it deleted", c.Name, c.Value, c.MaxAge)
		}
		expired[c.Name] = true
	}
	if !expired["ferry_token_4242"] || !expired["ferry_token_9999"] || expired["theirs"] || len(expired) != 2 {
		t.Fatalf("deleted %v, want both ferry_token_ cookies and nothing else", expired)
	}
	if resp := get(t, ts.URL+"/", nil); len(resp.Cookies()) != 0 {
		t.Fatalf("a request without cookies gets %v", resp.Cookies())
	}
}

func TestHostMustBeAnAddressOrLocalhost(t *testing.T) {
	_, ts := newTestServer(t, &fakeEngine{})
	auth := "Bearer " + token
	for host, want := range map[string]int{
		"127.0.0.1:4242":       http.StatusOK,
		"localhost:4242":       http.StatusOK,
		"[::1]:4242":           http.StatusOK,
		"ferry.localhost":      http.StatusOK,
		"192.168.1.20:4242":    http.StatusOK,
		"evil.example:4242":    http.StatusForbidden,
		"localhost.evil.com":   http.StatusForbidden,
		"127.0.0.1.nip.io:424": http.StatusForbidden,
	} {
		resp := get(t, ts.URL+"/v1/meta", map[string]string{"Host": host, "Authorization": auth})
		if resp.StatusCode != want {
			t.Errorf("Host %s: %s, want %d", host, resp.Status, want)
		}
	}
}

func postCall(t *testing.T, url, body string, hdr map[string]string) (*http.Response, wire.Reply) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/call", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep wire.Reply
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return resp, rep
}

func TestCallIsRelayed(t *testing.T) {
	var got ops.Request
	var gotOp string
	eng := &fakeEngine{call: func(op string, r ops.Request) (json.RawMessage, error) {
		gotOp, got = op, r
		if op == "info" {
			return nil, bits.Errorf(bits.BG_E_NOT_FOUND, "no job %s", r.Args[0])
		}
		return json.RawMessage(`{"id":"x"}`), nil
	}}
	_, ts := newTestServer(t, eng)
	resp, rep := postCall(t, ts.URL, `{"op":"create","args":["nightly"],"flags":{"upload":"true"}}`, nil)
	if resp.StatusCode != 200 || string(rep.Result) != `{"id":"x"}` || gotOp != "create" ||
		len(got.Args) != 1 || got.Args[0] != "nightly" || got.Flags["upload"] != "true" {
		t.Fatalf("call: %s %s; engine got %s %+v", resp.Status, rep.Result, gotOp, got)
	}
	resp, rep = postCall(t, ts.URL, `{"op":"info","args":["nope"]}`, nil)
	if resp.StatusCode != 404 || rep.Error == nil || rep.Error.Name != "BG_E_NOT_FOUND" || rep.Error.Code != bits.BG_E_NOT_FOUND || rep.Error.Message != "no job nope" {
		t.Fatalf("failing call: %s %+v", resp.Status, rep.Error)
	}
	resp, rep = postCall(t, ts.URL, `{"op":`, nil)
	if resp.StatusCode != 400 || rep.Error == nil || rep.Error.Name != "E_INVALIDARG" {
		t.Fatalf("bad body: %s %+v", resp.Status, rep.Error)
	}
	if resp, _ := postCall(t, ts.URL, `{"op":"list"}`, map[string]string{"Origin": "http://evil.example"}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin call: %s, want 403", resp.Status)
	}
	if resp, _ := postCall(t, ts.URL, `{"op":"list"}`, map[string]string{"Content-Type": "text/plain"}); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form-like call: %s, want 415", resp.Status)
	}
}

func TestMetaDescribesTheTable(t *testing.T) {
	_, ts := newTestServer(t, &fakeEngine{})
	resp := get(t, ts.URL+"/v1/meta", map[string]string{"Authorization": "Bearer " + token})
	var m Meta
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Version != "test" || len(m.Ops) != len(ops.All()) || len(m.Settings) != len(engine.SettingDefs) {
		t.Fatalf("meta: version %q, %d ops, %d settings", m.Version, len(m.Ops), len(m.Settings))
	}
	var creds *OpInfo
	for i := range m.Ops {
		if m.Ops[i].Name == "setcredentials" {
			creds = &m.Ops[i]
		}
	}
	if creds == nil || creds.Args[len(creds.Args)-1].Kind != "secret" {
		t.Fatalf("setcredentials = %+v, want its PASSWORD typed secret", creds)
	}
}

// sseReader reads "event:"/"data:" blocks.
type sseReader struct{ sc *bufio.Scanner }

func (r sseReader) next(t *testing.T) (event, data string) {
	t.Helper()
	for r.sc.Scan() {
		line := r.sc.Text()
		switch {
		case line == "":
			if event != "" || data != "" {
				return event, data
			}
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
	t.Fatalf("stream ended: %v", r.sc.Err())
	return "", ""
}

func TestEventsArePushedCoalesced(t *testing.T) {
	eng := &fakeEngine{}
	_, ts := newTestServer(t, eng)
	resp := get(t, ts.URL+"/v1/events", map[string]string{"Authorization": "Bearer " + token})
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("events: %s %s", resp.Status, ct)
	}
	r := sseReader{bufio.NewScanner(resp.Body)}
	if ev, _ := r.next(t); ev != "ready" {
		t.Fatalf("first event %q, want ready", ev)
	}
	st := eng.stream(t)
	start := time.Now()
	for i := int64(1); i <= 50; i++ {
		st.evs <- engine.Event{Kind: engine.EventModified, Job: bits.JobInfo{ID: "a", State: bits.StateTransferring,
			Progress: bits.JobProgress{BytesTotal: 50, BytesTransferred: i}}}
	}
	st.evs <- engine.Event{Kind: engine.EventTransferred, Job: bits.JobInfo{ID: "a", State: bits.StateTransferred,
		Progress: bits.JobProgress{BytesTotal: 50, BytesTransferred: 50}}}
	burst := time.Since(start)
	n := 0
	for {
		ev, data := r.next(t)
		if ev != "job" {
			t.Fatalf("event %q", ev)
		}
		n++
		var j bits.JobInfo
		if err := json.Unmarshal([]byte(data), &j); err != nil {
			t.Fatal(err)
		}
		if j.State == bits.StateTransferred {
			break
		}
	}
	if limit := int(burst/MinPushInterval) + 2; n > limit {
		t.Fatalf("%d pushes for a %v burst, want at most %d", n, burst, limit)
	}
}

func TestEventsRefusedWhenNoEngine(t *testing.T) {
	eng := &fakeEngine{subErr: &api.ConnectError{Socket: "/x", Err: errors.New("connection refused")}}
	_, ts := newTestServer(t, eng)
	if resp := get(t, ts.URL+"/v1/events", map[string]string{"Authorization": "Bearer " + token}); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("events without an engine: %s, want 503", resp.Status)
	}
}

func TestListenPrintsALoopbackURLWithTheToken(t *testing.T) {
	s, err := Listen(Options{Engine: &fakeEngine{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Serve(ctx) }()
	port := s.Addr().(*net.TCPAddr).Port
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || !strings.Contains(s.URL(), "/?token="+s.token) || port == 0 || len(s.token) < 32 {
		t.Fatalf("URL %q, token %q", s.URL(), s.token)
	}
	u, _ := url.Parse(s.URL())
	if resp := get(t, "http://"+u.Host+"/v1/meta", map[string]string{"Authorization": "Bearer " + u.Query().Get("token")}); resp.StatusCode != http.StatusOK {
		t.Fatalf("the API with the printed token: %s", resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestNoFrontendSaysSo(t *testing.T) {
	s, err := newServer(Options{Engine: &fakeEngine{}, Token: token, Assets: fstest.MapFS{".gitkeep": {}}}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	resp := get(t, ts.URL+"/", map[string]string{"Authorization": "Bearer " + token})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || !strings.Contains(string(body), "make build") {
		t.Fatalf("%s %q", resp.Status, body)
	}
}

// A browser whose stream the engine dropped for falling behind is told so,
// and its stream ends: the page reconnects, and the new "ready" makes
// the UI list the jobs again.
func TestEventsOverflowEndsTheStream(t *testing.T) {
	eng := &fakeEngine{}
	_, ts := newTestServer(t, eng)
	resp := get(t, ts.URL+"/v1/events", map[string]string{"Authorization": "Bearer " + token})
	r := sseReader{bufio.NewScanner(resp.Body)}
	if ev, _ := r.next(t); ev != "ready" {
		t.Fatalf("first event %q, want ready", ev)
	}
	st := eng.stream(t)
	st.evs <- engine.Event{Kind: engine.EventCreated, Job: bits.JobInfo{ID: "a", State: bits.StateSuspended}}
	st.evs <- engine.Event{Kind: engine.EventOverflow, FileIndex: -1}
	var got []string
	for {
		ev, _ := r.next(t)
		got = append(got, ev)
		if ev == "overflow" {
			break
		}
	}
	if strings.Join(got, ",") != "job,overflow" {
		t.Fatalf("events %v, want the held job change and then overflow", got)
	}
	if r.sc.Scan() {
		t.Fatalf("the stream went on after overflow: %q", r.sc.Text())
	}
}

// The units the UI is told about are the ones the engine parses: every
// suffix and named value of a unit reads as Meta says, and units without
// suffixes refuse them.
func TestMetaUnitsMatchTheEngine(t *testing.T) {
	m := BuildMeta("test")
	for _, d := range m.Settings {
		u := m.Units[d.Unit]
		for sfx, mult := range u.Suffixes {
			if _, v, err := engine.ParseSetting(d.Key, "3"+sfx); err != nil || v != 3*mult {
				t.Errorf("%s = 3%s: %d, %v; Meta says %d", d.Key, sfx, v, err, 3*mult)
			}
		}
		for word, want := range u.Named {
			if _, v, err := engine.ParseSetting(d.Key, word); err != nil || v != want {
				t.Errorf("%s = %s: %d, %v; Meta says %d", d.Key, word, v, err, want)
			}
		}
		if len(u.Suffixes) == 0 {
			if _, _, err := engine.ParseSetting(d.Key, "1K"); err == nil {
				t.Errorf("%s accepts 1K, but Meta lists no suffixes for %s", d.Key, d.Unit)
			}
		}
	}
	if len(m.Units[engine.UnitRate].Suffixes) == 0 || m.Limits["displayName"] != bits.MaxDisplayName || len(m.NotifyFlags) != 6 {
		t.Fatalf("meta: units %v, limits %v, %d notify flags", m.Units, m.Limits, len(m.NotifyFlags))
	}
	var all bits.NotifyFlags
	for _, f := range m.NotifyFlags {
		all |= f.Bit
	}
	if !all.Valid() || (all | 0x40).Valid() || all != 0x3F {
		t.Fatalf("notify bits %#x, want every valid bit", all)
	}
}

// Event streams are capped: past the cap a stream is refused before the
// engine is asked for a subscription, and closed streams give everything
// back (their subscriptions and goroutines), so that a new one is served.
func TestEventStreamsAreCapped(t *testing.T) {
	const max = 8
	eng := &fakeEngine{}
	var logged lockedBuffer
	_, ts := newTestServerWith(t, Options{Engine: eng, MaxStreams: max, Log: slog.New(slog.NewTextHandler(&logged, nil))})
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	open := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	settle := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d subscriptions open, %d goroutines", what, eng.openStreams(), runtime.NumGoroutine())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	baseline := runtime.NumGoroutine()

	var streams []*http.Response
	for range max {
		resp := open()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %s, want 200", len(streams)+1, resp.Status)
		}
		if ev, _ := (sseReader{bufio.NewScanner(resp.Body)}).next(t); ev != "ready" {
			t.Fatalf("stream %d: first event %q", len(streams)+1, ev)
		}
		streams = append(streams, resp)
	}
	if n := eng.openStreams(); n != max {
		t.Fatalf("%d subscriptions for %d streams", n, max)
	}
	for range 3 * max {
		resp := open()
		var rep wire.Reply
		err := json.NewDecoder(resp.Body).Decode(&rep)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || err != nil || rep.Error == nil || !strings.Contains(rep.Error.Message, "close other Ferry tabs") {
			t.Fatalf("a stream past the cap: %s %+v (%v), want 429 with the reason", resp.Status, rep.Error, err)
		}
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("a refused stream has no Retry-After")
		}
	}
	if n := eng.openStreams(); n != max {
		t.Fatalf("refused streams subscribed: %d subscriptions open, want %d", n, max)
	}
	// A client that retries in a loop does not fill the log.
	if warns := strings.Count(logged.String(), "too many open"); warns != 1 {
		t.Errorf("%d log lines for %d refused streams, want 1:\n%s", warns, 3*max, logged.String())
	}

	for _, resp := range streams {
		resp.Body.Close()
	}
	client.CloseIdleConnections()
	settle("closed streams", func() bool { return eng.openStreams() == 0 })
	// The handler, its keep-alive, its reader of the engine and the
	// connection's goroutines are all gone.
	settle("closed streams' goroutines", func() bool { return runtime.NumGoroutine() <= baseline+2 })

	resp := open()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a new stream after the others closed: %s, want 200", resp.Status)
	}
	if ev, _ := (sseReader{bufio.NewScanner(resp.Body)}).next(t); ev != "ready" {
		t.Fatalf("the new stream's first event %q", ev)
	}
}

// lockedBuffer is a log's output that tests read while servers write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A client that opens the event stream and never reads it (nor closes it)
// does not hold the stream forever: once its socket is full, the blocked
// write times out, and the subscription, the stream's slot and its
// goroutines are released.
func TestEventReaderThatNeverReadsIsReleased(t *testing.T) {
	eng := &fakeEngine{}
	s, ts := newTestServer(t, eng)
	s.eventWrite.Store(int64(200 * time.Millisecond))
	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "+token+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	st := eng.stream(t)
	big := strings.Repeat("d", 64<<10)
	// Up to 64 MiB of job changes, far more than loopback TCP buffers hold.
	for i := 0; i < 1024; i++ {
		select {
		case st.evs <- engine.Event{Kind: engine.EventModified, Job: bits.JobInfo{ID: strconv.Itoa(i), Description: big}}:
		case <-st.done:
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for eng.openStreams() != 0 || len(s.streams) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("a reader that never reads still holds the stream after 15 s (%d subscriptions, %d slots)", eng.openStreams(), len(s.streams))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// No answer, to any method or Origin, carries CORS headers that would let
// another site's script read it: the API is for the page's own origin.
func TestNoPermissiveCORS(t *testing.T) {
	_, ts := newTestServer(t, &fakeEngine{call: func(string, ops.Request) (json.RawMessage, error) { return json.RawMessage(`[]`), nil }})
	for _, c := range []struct{ method, path string }{
		{http.MethodOptions, "/v1/call"}, {http.MethodOptions, "/v1/events"}, {http.MethodPost, "/v1/call"},
		{http.MethodGet, "/v1/meta"}, {http.MethodGet, "/"}, {http.MethodGet, "/assets/app.js"},
	} {
		for _, origin := range []string{"http://evil.example", "null", ts.URL} {
			req, _ := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(`{"op":"list"}`))
			req.Header.Set("Origin", origin)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for k := range resp.Header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("%s %s from %s: %d with %s: %q", c.method, c.path, origin, resp.StatusCode, k, resp.Header.Get(k))
				}
			}
			if c.method == http.MethodPost && origin != ts.URL && resp.StatusCode != http.StatusForbidden {
				t.Errorf("a call from %s: %d, want 403", origin, resp.StatusCode)
			}
		}
	}
}

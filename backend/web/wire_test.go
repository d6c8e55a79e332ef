package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"ferry/backend/api"
	"ferry/backend/api/wire"
	"ferry/backend/engine"
	"ferry/backend/internal/localsock"
	"ferry/backend/ops"
	"ferry/backend/store"
	"ferry/backend/transfer"
)

// transports of one engine: the control API on its socket, `ferry web`
// over that API, and `ferry web` over the in-process seam the window uses.
type transports struct {
	socket, viaAPI, local *http.Client
	socketURL, apiURL     string
	localURL              string
}

func startTransports(t *testing.T, withEngine bool) transports {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := &ops.Env{}
	if withEngine {
		st, err := store.Open(filepath.Join(t.TempDir(), "ferry.db"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := engine.New(engine.Config{Store: st, Drivers: []transfer.Driver{transfer.NewFile()}, Owner: "tester", Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		m.Start()
		t.Cleanup(func() { m.Close(); st.Close() })
		env.Manager = m
	}
	path := filepath.Join(t.TempDir(), "ferry.sock")
	ln, err := api.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewServer(env, api.Hello{Version: "test"}, log)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(context.Background()) })
	cl := api.NewClient(path)
	t.Cleanup(cl.Close)

	webOver := func(eng Engine) string {
		s, err := newServer(Options{Engine: eng, Token: token, Version: "test", Log: log}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(s.Handler())
		t.Cleanup(ts.Close)
		return ts.URL
	}
	sock := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return localsock.Dial(ctx, api.SocketAddr(path))
	}}}
	return transports{socket: sock, socketURL: "http://ferry", viaAPI: http.DefaultClient, apiURL: webOver(ClientEngine(cl, nil)),
		local: http.DefaultClient, localURL: webOver(LocalEngine(env))}
}

func callOver(t *testing.T, c *http.Client, base, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+api.PathCall, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", base, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Every transport answers every error alike: the same HTTP status and the
// same {code, name, message} body (issue 8: E_FAIL was 500 on the socket and
// 502 through `ferry web`).
func TestEveryTransportMapsErrorsAlike(t *testing.T) {
	big := fmt.Sprintf(`{"op":"info","args":[%q]}`, strings.Repeat("x", wire.MaxCall+1))
	for _, tc := range []struct {
		engine     bool
		body, name string
		status     int
	}{
		{false, `{"op":"list"}`, "E_FAIL", 500},
		{true, `{"op":"nosuchop"}`, "E_INVALIDARG", 400},
		{true, `{"op":"info","args":["nosuchjob"]}`, "BG_E_NOT_FOUND", 404},
		{true, `{"op":"getstate"}`, "E_INVALIDARG", 400},
		{true, `{"op":`, "E_INVALIDARG", 400},
		{true, big, "BG_E_TOO_LARGE", 413},
		{true, `{"op":"list"}`, "", 200},
	} {
		tr := startTransports(t, tc.engine)
		status, body := callOver(t, tr.socket, tr.socketURL, tc.body)
		if status != tc.status || !strings.Contains(body, `"name":"`+tc.name+`"`) && tc.name != "" {
			t.Errorf("socket: %.40s → %d %.200s, want %d %s", tc.body, status, body, tc.status, tc.name)
		}
		s1, b1 := callOver(t, tr.viaAPI, tr.apiURL, tc.body)
		s2, b2 := callOver(t, tr.local, tr.localURL, tc.body)
		if s1 != status || b1 != body {
			t.Errorf("web over the API: %.40s → %d %.200s; the socket said %d %.200s", tc.body, s1, b1, status, body)
		}
		if s2 != status || b2 != body {
			t.Errorf("web in-process: %.40s → %d %.200s; the socket said %d %.200s", tc.body, s2, b2, status, body)
		}
	}
}

package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"ferry/backend/api/wire"
	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/ops"
	"ferry/backend/store"
	"ferry/backend/transfer"
)

// FuzzCall: the body of POST /v1/call, as any program of the user may
// send it, against a real engine. Every answer is the wire format: a
// result, or an error with a BITS name, a sentence and the status that its
// code maps to; and the engine still answers afterwards.
func FuzzCall(f *testing.F) {
	dir := f.TempDir()
	for _, s := range []string{`{"op":"list","args":[]}`, `{"op":"create","args":["j"],"flags":{"upload":"true"}}`, `{"op":"create","args":[]}`,
		`{"op":"addfile","args":["j","http://h/x","` + filepath.Join(dir, "x") + `"]}`, `{"op":"setpriority","args":["j","urgent"]}`,
		`{"op":"config set","args":["timeSlice","0"]}`, `{"op":"info","args":["{00000000-0000-0000-0000-000000000000}"]}`, `{"op":1}`, `[]`, `{"op":"getstate","args":["\ud800"]}`,
		`{"op":"setcustomheaders","args":["j","X: y\r\nRange: z"]}`, `{"op":"setnotifycmdline","args":["j","/bin/sh","-c 'x'"]}`, `{"op":"list","flags":{"nope":"1"}}`,
		`{"op":"setcredentials","args":["j","server","basic","u","p"]}`, `{"op":"addfileset","args":["j","/nonexistent"]}`, "{\"op\":\"list\"}\n{\"op\":\"reset\"}", `nul`} {
		f.Add([]byte(s))
	}
	st, err := store.Open(filepath.Join(dir, "ferry.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	m, err := engine.New(engine.Config{Store: st, Drivers: []transfer.Driver{transfer.NewFile(), transfer.NewHTTP(transfer.HTTPConfig{})}, Owner: "tester", Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	m.Start()
	defer m.Close()
	s := NewServer(&ops.Env{Manager: m}, Hello{Version: "test", Owner: "tester"}, log)
	// Nothing the fuzzer writes may move bytes: a job that transferred and
	// completed could replace any file this (root) test may write.
	deny := map[string]bool{"resume": true, "complete": true, "transfer": true}
	call := func(body []byte) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		s.handleCall(w, httptest.NewRequest(http.MethodPost, PathCall, bytes.NewReader(body)))
		return w
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req CallRequest
		if json.NewDecoder(bytes.NewReader(body)).Decode(&req) == nil {
			if op, ok := ops.Lookup(req.Op); ok && deny[op.Name] {
				return
			}
		}
		w := call(body)
		var rep wire.Reply
		b, _ := io.ReadAll(w.Result().Body)
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("%q: the answer %q is not JSON: %v", body, b, err)
		}
		if rep.Error != nil {
			e := rep.Error
			if !e.Code.Failed() || e.Name != e.Code.Name() || strings.HasPrefix(e.Name, "0x") || strings.TrimSpace(e.Message) == "" {
				t.Fatalf("%q: error %+v", body, e)
			}
			if w.Code != wire.Status(e.Code) {
				t.Fatalf("%q: status %d for %s", body, w.Code, e.Name)
			}
			if e.Code == bits.E_FAIL && !strings.Contains(string(body), "shutdown") {
				// E_FAIL is "something broke": bad input has a better name.
				t.Fatalf("%q: E_FAIL: %s", body, e.Message)
			}
		} else if w.Code != http.StatusOK {
			t.Fatalf("%q: status %d without an error", body, w.Code)
		}
		if w := call([]byte(`{"op":"list","args":[]}`)); w.Code != http.StatusOK {
			t.Fatalf("after %q the engine answers list with %d %s", body, w.Code, w.Body)
		}
	})
}

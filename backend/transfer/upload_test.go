package transfer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/uploadserver"
)

// memUpload is an UploadTarget that records what the client reports.
type memUpload struct {
	mu       sync.Mutex
	sessions []string
	acked    int64
	acks     []int64
	sent     int64
	checkErr error
}

func (m *memUpload) Session(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions = append(m.sessions, id)
	m.acked = 0
	return nil
}

func (m *memUpload) Check() error { return m.checkErr }

func (m *memUpload) Sent(off int64) {
	m.mu.Lock()
	m.sent = off
	m.mu.Unlock()
}

func (m *memUpload) Acked(off int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acked = off
	m.acks = append(m.acks, off)
	return nil
}

// script is a BITS server whose Fragment answers a test chooses.
type script struct {
	*httptest.Server
	mu     sync.Mutex
	data   []byte
	log    []string // "Type Content-Range Content-Length"
	answer func(typ string, r *http.Request, body []byte, held int) (int, map[string]string)
}

func newScript(t *testing.T, answer func(typ string, r *http.Request, body []byte, held int) (int, map[string]string)) *script {
	s := &script{answer: answer}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		typ := r.Header.Get("BITS-Packet-Type")
		s.mu.Lock()
		defer s.mu.Unlock()
		s.log = append(s.log, fmt.Sprintf("%s %s %s", typ, r.Header.Get("Content-Range"), r.Header.Get("Content-Length")))
		status, hdr := s.answer(typ, r, body, len(s.data))
		if status == 0 { // default behaviour: a well-behaved server
			status, hdr = 200, map[string]string{"BITS-Packet-Type": "Ack"}
			switch typ {
			case "Create-Session":
				hdr["BITS-Protocol"] = UploadProtocol
				hdr["BITS-Session-Id"] = "{s1}"
			case "Fragment":
				var a, b, total int64
				fmt.Sscanf(r.Header.Get("Content-Range"), "bytes %d-%d/%d", &a, &b, &total)
				if a > int64(len(s.data)) {
					status = 416
				} else if b+1 > int64(len(s.data)) {
					s.data = append(s.data, body[int64(len(s.data))-a:]...)
				}
				hdr["BITS-Received-Content-Range"] = strconv.Itoa(len(s.data))
			}
		}
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Server.Close)
	return s
}

func (s *script) entries(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.log {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func upload(t *testing.T, d *HTTPDriver, url string, data []byte, frag int64, mt *memUpload, sid string, off int64) (UploadResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return d.Upload(ctx, UploadRequest{URL: url, Source: bytes.NewReader(data), Size: int64(len(data)), Name: "f.bin",
		FragmentSize: frag, SessionID: sid, Offset: off}, mt)
}

func TestUploadShrinksFragmentsOn413(t *testing.T) {
	s := newScript(t, func(typ string, r *http.Request, body []byte, held int) (int, map[string]string) {
		if typ == "Fragment" && len(body) > 300<<10 {
			return 413, map[string]string{"BITS-Packet-Type": "Ack"}
		}
		return 0, nil
	})
	data := randomBytes(1*mb + 1)
	mt := &memUpload{}
	if _, err := upload(t, testHTTP(), s.URL+"/a", data, mb, mt, "", 0); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, s.data, data)
	if n := len(s.entries("Fragment")); n < 5 {
		t.Fatalf("%d fragments: %v", n, s.entries("Fragment"))
	}
}

func TestUploadFollowsTheServersOffset(t *testing.T) {
	// The server lost bytes the client had seen acknowledged (416), and
	// then holds more than the client knows (an overlap).
	data := randomBytes(600 << 10)
	s := newScript(t, func(string, *http.Request, []byte, int) (int, map[string]string) { return 0, nil })
	s.data = append([]byte(nil), data[:100<<10]...)
	mt := &memUpload{}
	if _, err := upload(t, testHTTP(), s.URL+"/a", data, 256<<10, mt, "{s1}", 300<<10); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, s.data, data)
	frags := s.entries("Fragment")
	if !strings.HasPrefix(frags[0], fmt.Sprintf("Fragment bytes %d-", 300<<10)) || !strings.HasPrefix(frags[1], fmt.Sprintf("Fragment bytes %d-", 100<<10)) {
		t.Fatalf("fragments %v", frags)
	}
	if len(s.entries("Create-Session")) != 0 {
		t.Fatal("a resumed session was created again")
	}

	s.data = append([]byte(nil), data[:500<<10]...)
	mt = &memUpload{}
	if _, err := upload(t, testHTTP(), s.URL+"/a", data, 256<<10, mt, "{s1}", 0); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, s.data, data)
	if mt.acks[0] != 500<<10 {
		t.Fatalf("acks %v", mt.acks)
	}
}

func TestUploadLastAckLost(t *testing.T) {
	// Every byte was acknowledged but the engine never saw the last Ack:
	// one byte is sent again to get it (and the reply URL).
	data := randomBytes(1000)
	s := newScript(t, func(typ string, r *http.Request, body []byte, held int) (int, map[string]string) {
		if typ == "Fragment" {
			return 200, map[string]string{"BITS-Packet-Type": "Ack", "BITS-Received-Content-Range": "1000", "BITS-Reply-URL": "/replies/1"}
		}
		return 0, nil
	})
	res, err := upload(t, testHTTP(), s.URL+"/up/a", data, mb, &memUpload{}, "{s1}", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if res.ReplyURL != s.URL+"/replies/1" {
		t.Fatalf("reply URL %q", res.ReplyURL)
	}
	if f := s.entries("Fragment"); len(f) != 1 || f[0] != "Fragment bytes 999-999/1000 1" {
		t.Fatalf("fragments %v", f)
	}
}

func TestUploadErrorsMapped(t *testing.T) {
	data := randomBytes(5000)
	for _, tc := range []struct {
		name      string
		typ       string
		status    int
		hdr       map[string]string
		code      bits.HRESULT
		ctx       bits.ErrorContext
		transient bool
	}{
		{"app error", "Fragment", 500, map[string]string{"BITS-Packet-Type": "Ack", "BITS-Error-Code": "0x80004005", "BITS-Error-Context": "0x7"}, bits.E_FAIL, bits.ContextRemoteApplication, true},
		{"MC-BUP spelling", "Fragment", 403, map[string]string{"BITS-Packet-Type": "Ack", "BITS-Error": "0x80070005", "BITS-Error-Context": "0x5"}, bits.E_ACCESSDENIED, bits.ContextRemoteFile, false},
		{"too large", "Fragment", 500, map[string]string{"BITS-Packet-Type": "Ack", "BITS-Error-Code": "0x80200020", "BITS-Error-Context": "0x5"}, bits.BG_E_TOO_LARGE, bits.ContextRemoteFile, false},
		{"not a BITS server", "Ping", 405, nil, bits.HTTPError(405), bits.ContextRemoteFile, false},
		{"busy", "Create-Session", 503, map[string]string{"BITS-Packet-Type": "Ack"}, bits.HTTPError(503), bits.ContextRemoteFile, true},
		{"no Ack", "Ping", 200, nil, bits.BG_E_INVALID_SERVER_RESPONSE, bits.ContextRemoteFile, false},
		{"other protocol", "Create-Session", 200, map[string]string{"BITS-Packet-Type": "Ack", "BITS-Protocol": "{00000000-0000-0000-0000-000000000001}", "BITS-Session-Id": "{x}"}, bits.BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH, bits.ContextRemoteFile, false},
		{"bad offset", "Fragment", 200, map[string]string{"BITS-Packet-Type": "Ack", "BITS-Received-Content-Range": "9999"}, bits.BG_E_INVALID_SERVER_RESPONSE, bits.ContextRemoteFile, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScript(t, func(typ string, r *http.Request, body []byte, held int) (int, map[string]string) {
				if typ == tc.typ {
					return tc.status, tc.hdr
				}
				return 0, nil
			})
			_, err := upload(t, testHTTP(), s.URL+"/a", data, mb, &memUpload{}, "", 0)
			wantCode(t, err, tc.code, tc.transient, tc.ctx)
		})
	}
}

func TestUploadSessionNotFoundCreatesAnother(t *testing.T) {
	data := randomBytes(3000)
	s := newScript(t, func(typ string, r *http.Request, body []byte, held int) (int, map[string]string) {
		if typ == "Fragment" && r.Header.Get("BITS-Session-Id") == "{old}" {
			return 500, map[string]string{"BITS-Packet-Type": "Ack", "BITS-Error-Code": "0x8020001F", "BITS-Error-Context": "0x5"}
		}
		return 0, nil
	})
	mt := &memUpload{}
	res, err := upload(t, testHTTP(), s.URL+"/a", data, mb, mt, "{old}", 2000)
	if err != nil {
		t.Fatal(err)
	}
	wantBytes(t, s.data, data)
	if res.SessionID != "{s1}" || len(mt.sessions) != 1 || mt.sessions[0] != "{s1}" {
		t.Fatalf("result %+v, sessions %v", res, mt.sessions)
	}
}

func TestUploadCheckStopsAndStall(t *testing.T) {
	data := randomBytes(3000)
	s := newScript(t, func(string, *http.Request, []byte, int) (int, map[string]string) { return 0, nil })
	stop := &Error{Code: bits.BG_E_LOCAL_FILE_CHANGED, Context: bits.ContextLocalFile}
	_, err := upload(t, testHTTP(), s.URL+"/a", data, mb, &memUpload{checkErr: stop}, "", 0)
	if err != stop {
		t.Fatalf("Check's error not returned: %v", err)
	}

	// A server that never answers the last fragment: a transient timeout.
	release := make(chan struct{})
	defer close(release)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("BITS-Packet-Type") == "Fragment" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("BITS-Packet-Type", "Ack")
		w.Header().Set("BITS-Protocol", UploadProtocol)
		w.Header().Set("BITS-Session-Id", "{h}")
	}))
	defer hang.Close()
	d := NewHTTP(HTTPConfig{StallTimeout: 200 * time.Millisecond, AckTimeout: 300 * time.Millisecond})
	start := time.Now()
	_, err = upload(t, d, hang.URL+"/a", data, mb, &memUpload{}, "", 0)
	wantCode(t, err, bits.ERROR_WINHTTP_TIMEOUT, true, bits.ContextRemoteFile)
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("the stall took %v to notice", el)
	}
}

func TestUploadEmptyFileAndHeaders(t *testing.T) {
	dir := t.TempDir()
	us, err := uploadserver.New(uploadserver.Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer us.Close()
	var mu sync.Mutex
	var hdrs []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hdrs = append(hdrs, r.Header.Clone())
		mu.Unlock()
		us.ServeHTTP(w, r)
	}))
	defer srv.Close()
	o := Options{CustomHeaders: "X-Job: 7\r\nUser-Agent: custom/1"}
	res, err := testHTTP().Upload(t.Context(), UploadRequest{URL: srv.URL + "/empty.txt", Options: o, Source: bytes.NewReader(nil), Name: "empty.txt"}, &memUpload{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "empty.txt")); err != nil || st.Size() != 0 {
		t.Fatalf("empty upload: %v", err)
	}
	// The reply comes down like any download, with the job's headers.
	m := newTarget(t)
	if err := run(t, testHTTP(), Request{URL: res.ReplyURL, Options: Options{Dynamic: true, CustomHeaders: o.CustomHeaders}}, m); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(m.bytes(), []byte(`"size":0`)) {
		t.Fatalf("reply %s", m.bytes())
	}
	mu.Lock()
	defer mu.Unlock()
	for _, h := range hdrs {
		if h.Get("X-Job") != "7" || h.Get("User-Agent") != "custom/1" {
			t.Fatalf("a request without the custom headers: %v", h)
		}
		if h.Get("BITS-Packet-Type") != "" && h.Get("Content-Length") == "" {
			t.Fatalf("%s without Content-Length", h.Get("BITS-Packet-Type"))
		}
	}
	if last := hdrs[2]; last.Get("BITS-Packet-Type") != "Fragment" || last.Get("Content-Range") != "bytes */0" || last.Get("Content-Name") != "empty.txt" {
		t.Fatalf("empty fragment %v", last)
	}
}

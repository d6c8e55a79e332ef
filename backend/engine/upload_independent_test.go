package engine

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
)

// miniBITS is a minimal BITS upload server written from the protocol
// description alone (bits-reference §14), independent of uploadserver: it
// keeps sessions and files in memory and logs every packet.
type miniBITS struct {
	*httptest.Server
	mu       sync.Mutex
	next     int
	sessions map[string]*miniSession
	files    map[string][]byte // by URL path
	log      []miniPacket
	// fail, when set, answers a packet instead of the protocol.
	fail func(p miniPacket) (status int, code, context string, ok bool)
	// replyFor, when set, gives the reply URL of a finished upload.
	replyFor func(path string) string
}

type miniSession struct {
	path  string
	data  []byte
	total int64
	done  bool
}

type miniPacket struct {
	Type, Session, Range string
	Length               int64
	Header               http.Header
}

func newMiniBITS(t *testing.T) *miniBITS {
	m := &miniBITS{sessions: map[string]*miniSession{}, files: map[string][]byte{}}
	m.Server = httptest.NewServer(m)
	t.Cleanup(m.Server.Close)
	return m
}

func (m *miniBITS) packets(typ string) []miniPacket {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []miniPacket
	for _, p := range m.log {
		if typ == "" || strings.EqualFold(p.Type, typ) {
			out = append(out, p)
		}
	}
	return out
}

func (m *miniBITS) file(path string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.files[path]
}

func (m *miniBITS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ack := func(status int, extra ...string) {
		w.Header().Set("BITS-Packet-Type", "Ack")
		w.Header().Set("Content-Length", "0")
		for i := 0; i+1 < len(extra); i += 2 {
			w.Header().Set(extra[i], extra[i+1])
		}
		w.WriteHeader(status)
	}
	if r.Method != "BITS_POST" {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	p := miniPacket{Type: r.Header.Get("BITS-Packet-Type"), Session: r.Header.Get("BITS-Session-Id"),
		Range: r.Header.Get("Content-Range"), Length: int64(len(body)), Header: r.Header.Clone()}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log = append(m.log, p)
	if m.fail != nil {
		if status, code, ctx, ok := m.fail(p); ok {
			ack(status, "BITS-Error-Code", code, "BITS-Error-Context", ctx)
			return
		}
	}
	switch strings.ToLower(p.Type) {
	case "ping":
		ack(200)
	case "create-session":
		if !strings.Contains(r.Header.Get("BITS-Supported-Protocols"), "{7df0354d-249b-430f-820d-3d2a9bef4931}") {
			ack(400, "BITS-Error-Code", "0x80070057", "BITS-Error-Context", "0x5")
			return
		}
		m.next++
		id := fmt.Sprintf("{00000000-0000-0000-0000-%012d}", m.next)
		m.sessions[id] = &miniSession{path: r.URL.Path, total: -1}
		ack(201, "BITS-Protocol", "{7df0354d-249b-430f-820d-3d2a9bef4931}", "BITS-Session-Id", id)
	case "fragment":
		s := m.sessions[p.Session]
		if s == nil {
			ack(500, "BITS-Error-Code", "0x8020001F", "BITS-Error-Context", "0x5")
			return
		}
		var a, b, total int64
		if _, err := fmt.Sscanf(p.Range, "bytes %d-%d/%d", &a, &b, &total); err != nil || b < a || b >= total || b-a+1 != int64(len(body)) {
			ack(400, "BITS-Error-Code", "0x80070057", "BITS-Error-Context", "0x5")
			return
		}
		if a > int64(len(s.data)) {
			ack(416, "BITS-Session-Id", p.Session, "BITS-Received-Content-Range", strconv.Itoa(len(s.data)))
			return
		}
		s.total = total
		if end := b + 1; end > int64(len(s.data)) {
			s.data = append(s.data, body[int64(len(s.data))-a:]...)
		}
		extra := []string{"BITS-Session-Id", p.Session, "BITS-Received-Content-Range", strconv.Itoa(len(s.data))}
		if int64(len(s.data)) == total {
			s.done = true
			m.files[s.path] = s.data
			if m.replyFor != nil {
				extra = append(extra, "BITS-Reply-URL", m.replyFor(s.path))
			}
		}
		ack(200, extra...)
	case "close-session", "cancel-session":
		if m.sessions[p.Session] == nil {
			ack(500, "BITS-Error-Code", "0x8020001F", "BITS-Error-Context", "0x5")
			return
		}
		delete(m.sessions, p.Session)
		ack(200, "BITS-Session-Id", p.Session)
	default:
		ack(400, "BITS-Error-Code", "0x80070057", "BITS-Error-Context", "0x5")
	}
}

func TestUploadToIndependentServer(t *testing.T) {
	t.Parallel()
	mini := newMiniBITS(t)
	h := newHarness(t)
	// An exact multiple of the fragment size: no empty trailing fragment.
	const size = 6 * 4 << 20
	data := writeRandom(t, h.path("multiple.bin"), size, 10)
	id := h.uploadJob(bits.TypeUpload, mini.URL+"/up/multiple.bin", h.path("multiple.bin"))
	h.must(h.m.SetCustomHeaders(id, "X-Tenant: blue\r\nX-Trace: 42"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	if sha256.Sum256(mini.file("/up/multiple.bin")) != sha256.Sum256(data) {
		t.Fatal("SHA-256 differs on the independent server")
	}
	frags := mini.packets("Fragment")
	var next int64
	for _, f := range frags {
		want := fmt.Sprintf("bytes %d-", next)
		if !strings.HasPrefix(f.Range, want) || f.Length == 0 {
			t.Fatalf("fragments not contiguous or empty: %+v", f)
		}
		next += f.Length
		if f.Header.Get("Content-Name") != "multiple.bin" {
			t.Fatalf("Content-Name %q", f.Header.Get("Content-Name"))
		}
	}
	if next != size || len(frags) != 6 {
		t.Fatalf("%d fragments carrying %d bytes", len(frags), next)
	}
	all := mini.packets("")
	if all[0].Type != "Ping" || all[1].Type != "Create-Session" || all[len(all)-1].Type != "Close-Session" {
		t.Fatalf("packet order: first %s, %s, last %s", all[0].Type, all[1].Type, all[len(all)-1].Type)
	}
	for _, p := range all {
		if p.Header.Get("X-Tenant") != "blue" || p.Header.Get("X-Trace") != "42" {
			t.Fatalf("%s packet without the custom headers: %v", p.Type, p.Header)
		}
		if p.Header.Get("Content-Length") == "" {
			t.Fatalf("%s packet without Content-Length", p.Type)
		}
	}
}

func TestUploadServerErrors(t *testing.T) {
	t.Parallel()
	mini := newMiniBITS(t)
	h := newHarness(t)
	writeRandom(t, h.path("e.bin"), 5<<20, 11)

	// The back-end application fails the last fragment: REMOTE_APPLICATION,
	// transient by the 5xx rule.
	mini.fail = func(p miniPacket) (int, string, string, bool) {
		if p.Type == "Fragment" && strings.HasSuffix(p.Range, fmt.Sprintf("-%d/%d", 5<<20-1, 5<<20)) {
			return 500, "0x80070005", "0x7", true
		}
		return 0, "", "", false
	}
	id := h.uploadJob(bits.TypeUpload, mini.URL+"/e.bin", h.path("e.bin"))
	h.must(h.m.Resume(id))
	in := h.waitState(id, bits.StateTransientError)
	if in.Error.Code != bits.E_ACCESSDENIED || in.Error.Context != bits.ContextRemoteApplication {
		t.Fatalf("error %+v", in.Error)
	}
	// The retry resumes the same session after the acknowledged bytes.
	mini.mu.Lock()
	mini.fail = nil
	mini.mu.Unlock()
	before := len(mini.packets("Fragment"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	if n := len(mini.packets("Create-Session")); n != 1 {
		t.Fatalf("%d sessions", n)
	}
	if n := len(mini.packets("Fragment")) - before; n != 1 {
		t.Fatalf("the retry sent %d fragments, want only the last", n)
	}

	// 403 from the BITS server: fatal, REMOTE_FILE.
	mini.mu.Lock()
	mini.fail = func(p miniPacket) (int, string, string, bool) {
		if p.Type == "Create-Session" {
			return 403, "0x80070005", "0x5", true
		}
		return 0, "", "", false
	}
	mini.mu.Unlock()
	id = h.uploadJob(bits.TypeUpload, mini.URL+"/f.bin", h.path("e.bin"))
	h.must(h.m.Resume(id))
	in = h.waitState(id, bits.StateError)
	if in.Error.Code != bits.E_ACCESSDENIED || in.Error.Context != bits.ContextRemoteFile || in.Error.Protocol == nil || *in.Error.Protocol != "http" {
		t.Fatalf("error %+v", in.Error)
	}
}

func TestUploadSessionNotFoundStartsOver(t *testing.T) {
	t.Parallel()
	mini := newMiniBITS(t)
	h := newHarness(t)
	h.must(h.m.SetSetting(KeyBandwidthNormal, "8M"))
	data := writeRandom(t, h.path("s.bin"), 9<<20, 12)
	id := h.uploadJob(bits.TypeUpload, mini.URL+"/s.bin", h.path("s.bin"))
	h.must(h.m.Resume(id))
	for h.info(id).Progress.BytesTransferred < 3<<20 {
		time.Sleep(10 * time.Millisecond)
	}
	h.close()
	// The server forgets every session (a restart without state).
	mini.mu.Lock()
	mini.sessions = map[string]*miniSession{}
	mini.mu.Unlock()
	h.open()
	h.waitState(id, bits.StateTransferred)
	if sha256.Sum256(mini.file("/s.bin")) != sha256.Sum256(data) {
		t.Fatal("SHA-256 differs after starting over")
	}
	if n := len(mini.packets("Create-Session")); n != 2 {
		t.Fatalf("%d Create-Session packets, want 2", n)
	}
}

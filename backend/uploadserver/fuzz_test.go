package uploadserver_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/uploadserver"
)

// The fuzz targets of what an upload client sends: `go test -fuzz FuzzX
// ./backend/uploadserver`; seed corpora in testdata/fuzz.

// FuzzParseContentRange: a Fragment's Content-Range against its
// Content-Length. What is accepted is a span inside the total whose length
// is the body's, and printed back it parses the same.
func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-9/10", "bytes */0", "BYTES 5-9/20", "bytes 0--1/0", "bytes 9-5/10", "bytes 0-9/5",
		"bytes 0-9223372036854775807/9223372036854775807", "bytes +1-+2/+3", "bytes=0-9/10"} {
		f.Add(s, int64(10))
	}
	f.Add("bytes 0-0/0", int64(0))
	f.Fuzz(func(t *testing.T, h string, n int64) {
		start, end, total, err := uploadserver.ParseContentRange(h, n)
		if err != nil {
			return
		}
		if n == 0 && start == 0 && end == -1 && total == 0 {
			return // an empty file's one fragment
		}
		if start < 0 || end < start || end >= total || end-start+1 != n {
			t.Fatalf("%q (n %d) accepted as %d-%d/%d", h, n, start, end, total)
		}
		a, b, c, err := uploadserver.ParseContentRange(fmt.Sprintf("bytes %d-%d/%d", start, end, total), n)
		if err != nil || a != start || b != end || c != total {
			t.Fatalf("%q: %d-%d/%d does not round-trip: %d-%d/%d %v", h, start, end, total, a, b, c, err)
		}
	})
}

// FuzzTargetName: the name an upload is stored under, from its URL path.
// An accepted name stays inside the directory on every platform, is never
// the server's hidden state, and is its own name again.
func FuzzTargetName(f *testing.F) {
	for _, s := range []string{"/a/b.txt", "/../x", "/a/./b", "/.bits-sessions/x.json", "/CON.txt", "/a\\b", "/a/b/", "//x",
		"/" + strings.Repeat("a/", 40) + "f", "/x\x00y", "/c:/x", "/é", "/a..", "/ a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		name, err := uploadserver.TargetName(p)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q refused without a reason", p)
			}
			return
		}
		if !filepath.IsLocal(filepath.FromSlash(name)) || !fs.ValidPath(name) || path.Clean(name) != name {
			t.Fatalf("%q gives %q, which leaves the directory", p, name)
		}
		for _, seg := range strings.Split(name, "/") {
			if strings.HasPrefix(seg, ".") || strings.ContainsAny(seg, `\:`) {
				t.Fatalf("%q gives %q with segment %q", p, name, seg)
			}
		}
		if again, err := uploadserver.TargetName("/" + name); err != nil || again != name {
			t.Fatalf("%q gives %q, which gives %q %v", p, name, again, err)
		}
	})
}

// FuzzPackets: a session of packets whose path, headers and body the
// fuzzer writes, against a real server on disk. Every answer is an empty
// Ack, a refusal carries a BITS error code with a name, nothing is written
// outside the directory, and a stored upload holds exactly the bytes sent.
func FuzzPackets(f *testing.F) {
	f.Add("/f.bin", uploadserver.Protocol, "bytes 0-4/5", []byte("hello"), "f.bin", uint8(0))
	f.Add("/d/../f.bin", uploadserver.Protocol, "bytes 0-4/5", []byte("hello"), "", uint8(1))
	f.Add("/e", uploadserver.Protocol, "bytes */0", []byte{}, "x", uint8(2))
	f.Add("/g", "{other}", "bytes 0-1/9", []byte("ab"), "", uint8(3))
	f.Add("/h", uploadserver.Protocol, "bytes 3-4/5", []byte("lo"), "", uint8(4))
	f.Add("/.bits-sessions/x", uploadserver.Protocol, "bytes 0-0/1", []byte("x"), "", uint8(5))
	f.Add("/%2e%2e/up", uploadserver.Protocol, "bytes 0-0/1", []byte("x"), "", uint8(6))
	parent := f.TempDir()
	dir := filepath.Join(parent, "uploads")
	s, err := uploadserver.New(uploadserver.Config{Dir: dir, AllowOverwrite: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	send := func(t *testing.T, p, typ string, body []byte, hdr ...string) *http.Response {
		r := httptest.NewRequest(uploadserver.Method, "/", bytes.NewReader(body))
		r.URL.Path = p
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		r.Header.Set("BITS-Packet-Type", typ)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		res := w.Result()
		if res.Header.Get("BITS-Packet-Type") != "Ack" || w.Body.Len() != 0 {
			t.Fatalf("%s %q: not an empty Ack: %d %v %q", typ, p, res.StatusCode, res.Header, w.Body.Bytes())
		}
		if res.StatusCode >= 400 && res.StatusCode != http.StatusRequestedRangeNotSatisfiable { // 416 says where to go on
			code, ok := bits.ParseHRESULT(res.Header.Get("BITS-Error-Code"))
			if !ok || !code.Failed() || strings.HasPrefix(code.Name(), "0x") {
				t.Fatalf("%s %q: status %d with BITS-Error-Code %q", typ, p, res.StatusCode, res.Header.Get("BITS-Error-Code"))
			}
		}
		return res
	}
	f.Fuzz(func(t *testing.T, p, protocols, rng string, body []byte, contentName string, end uint8) {
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		cr := send(t, p, "Create-Session", nil, "BITS-Supported-Protocols", protocols)
		sid := cr.Header.Get("BITS-Session-Id")
		if cr.StatusCode != 200 {
			sid = fmt.Sprintf("{%x}", end) // a session that does not exist
		}
		fr := send(t, p, "Fragment", body, "BITS-Session-Id", sid, "Content-Range", rng, "Content-Name", contentName)
		if fr.StatusCode == 200 && fr.Header.Get("BITS-Reply-URL") != "" {
			name, err := uploadserver.TargetName(p)
			if err != nil {
				t.Fatalf("%q stored although its name is refused: %v", p, err)
			}
			got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%q stored as %q (%v), sent %q", p, got, err, body)
			}
		}
		typ := "Close-Session"
		if end%2 == 1 {
			typ = "Cancel-Session"
		}
		send(t, p, typ, nil, "BITS-Session-Id", sid)
		// Nothing outside the directory; inside it only stored uploads.
		entries, err := os.ReadDir(parent)
		if err != nil || len(entries) != 1 || entries[0].Name() != "uploads" {
			t.Fatalf("beside the directory: %v %v", entries, err)
		}
		if s.OpenSessions() != 0 {
			t.Fatalf("%d sessions left open after %s", s.OpenSessions(), typ)
		}
	})
}

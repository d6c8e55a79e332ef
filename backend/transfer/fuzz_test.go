package transfer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
)

// The fuzz targets of the parsers that read what servers and users send:
// `go test -fuzz FuzzX ./backend/transfer` (make fuzz runs them all long;
// make test runs each briefly). Their seed corpora are in testdata/fuzz.

// FuzzParseContentRange: a 206's Content-Range, as the download reads it.
// What is accepted is a well-formed span, and the span printed back parses
// to the same numbers.
func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-99/100", "bytes 5-9/*", "bytes */100", "bytes 9-5/100", "bytes -1-5/10",
		"bytes 0-9223372036854775807/9223372036854775807", " bytes 1-2/3 ", "bytes +1-+2/+3", "bytes 0-0/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, total, err := parseContentRange(s)
		if err != nil {
			return
		}
		if start < 0 || end < start || total < -1 {
			t.Fatalf("%q accepted as %d-%d/%d", s, start, end, total)
		}
		size := "*"
		if total >= 0 {
			size = strconv.FormatInt(total, 10)
		}
		a, b, c, err := parseContentRange(fmt.Sprintf("bytes %d-%d/%s", start, end, size))
		if err != nil || a != start || b != end || c != total {
			t.Fatalf("%q: %d-%d/%d does not round-trip: %d-%d/%d %v", s, start, end, total, a, b, c, err)
		}
	})
}

// FuzzProxyLists: SetProxySettings' OVERRIDE lists. A refusal is
// BG_E_INVALID_PROXY_INFO; an accepted list gives a selector that picks a
// proxy (or none) for any URL without failing, and only proxies it was given.
func FuzzProxyLists(f *testing.F) {
	f.Add("proxy:8080", "<local>", "http://a.example/x")
	f.Add("http=p1:3128 https=https://p2:443", "*.example.com;10.0.0.1:80", "https://www.example.com/")
	f.Add("[::1]:8080", "*", "http://[::1]/")
	f.Add("socks=s:1080 ftp=f:21", "", "http://h/")
	f.Add("bad=x", "a*b", "")
	f.Add("http://user:pw@p:1", "*.", "http://x:99999/")
	f.Fuzz(func(t *testing.T, list, bypass, target string) {
		_, err := parseProxyList(list, bypass)
		sel, ferr := ProxyFunc(bits.ProxySettings{Usage: bits.ProxyOverride, List: list, Bypass: bypass})
		if (err == nil) != (ferr == nil) {
			t.Fatalf("parseProxyList %v but ProxyFunc %v", err, ferr)
		}
		if err != nil {
			var be *bits.Error
			if !errors.As(err, &be) || be.Code != bits.BG_E_INVALID_PROXY_INFO || be.Msg == "" {
				t.Fatalf("refusal %v is not BG_E_INVALID_PROXY_INFO with a sentence", err)
			}
			if te := AsError(ferr); te.Code != bits.BG_E_INVALID_PROXY_INFO || te.Transient {
				t.Fatalf("ProxyFunc's refusal %+v", te)
			}
			return
		}
		u, perr := url.Parse(target)
		if perr != nil {
			return
		}
		p, serr := sel(&http.Request{URL: u})
		if serr != nil {
			t.Fatalf("selecting for %q: %v", target, serr)
		}
		if p != nil && (p.Host == "" || (p.Scheme != "http" && p.Scheme != "https")) {
			t.Fatalf("proxy %v for %q from %q", p, target, list)
		}
	})
}

// FuzzCustomHeaders: SetCustomHeaders' lines as the driver sends them. The
// driver's own Range and If-Range never come from them, every name is
// canonical, and the parsed headers written back as lines parse the same.
func FuzzCustomHeaders(f *testing.F) {
	f.Add("X-A: 1\r\nX-B: two\n")
	f.Add("range: bytes=0-\r\nIf-Range: x\r\n: novalue\r\nNoColon\r\n")
	f.Add("x-a:1\nX-A:2\n\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		h := parseHeaderLines(s)
		var b strings.Builder
		for k, vs := range h {
			if k == "Range" || k == "If-Range" {
				t.Fatalf("%q gives the driver's own %s", s, k)
			}
			if k != http.CanonicalHeaderKey(k) || k == "" {
				t.Fatalf("name %q is not canonical", k)
			}
			for _, v := range vs {
				if strings.ContainsAny(v, "\n") || v != strings.TrimSpace(v) {
					t.Fatalf("value %q of %s", v, k)
				}
				fmt.Fprintf(&b, "%s: %s\r\n", k, v)
			}
		}
		again := parseHeaderLines(b.String())
		if fmt.Sprint(again) != fmt.Sprint(h) {
			t.Fatalf("%q: %v written back parses as %v", s, h, again)
		}
	})
}

// FuzzSegments: the segment table of a download in parts, from what the
// database recorded. Segments that do not tile the file are not trusted
// (one segment, from 0); trusted ones come back unchanged.
func FuzzSegments(f *testing.F) {
	enc := func(size int64, segs ...int64) []byte {
		b := binary.BigEndian.AppendUint64(nil, uint64(size))
		for _, s := range segs {
			b = binary.BigEndian.AppendUint64(b, uint64(s))
		}
		return b
	}
	f.Add(enc(100, 0, 50, 10, 50, 100, 100))
	f.Add(enc(100, 0, 50, 60))
	f.Add(enc(0))
	f.Add(enc(-1, 0, -1, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 8 {
			return
		}
		size := int64(binary.BigEndian.Uint64(b))
		var segs []bits.Segment
		for b = b[8:]; len(b) >= 24 && len(segs) < 64; b = b[24:] {
			segs = append(segs, bits.Segment{Start: int64(binary.BigEndian.Uint64(b)),
				End: int64(binary.BigEndian.Uint64(b[8:])), Done: int64(binary.BigEndian.Uint64(b[16:]))})
		}
		if size < 0 {
			return // a table is made only for a known size
		}
		tab := NewTable(size, segs)
		snap := tab.Snapshot()
		if ValidSegments(size, segs) {
			if fmt.Sprint(snap) != fmt.Sprint(segs) {
				t.Fatalf("trusted %v became %v", segs, snap)
			}
		} else if len(snap) != 1 || snap[0] != (bits.Segment{Start: 0, End: size, Done: 0}) {
			t.Fatalf("untrusted %v (size %d) became %v", segs, size, snap)
		}
		if w := tab.Written(); w < 0 || w > size {
			t.Fatalf("%v: %d written of %d", snap, w, size)
		}
	})
}

// uploadFuzzServer answers every BITS packet with what the fuzzer chose.
type uploadFuzzServer struct {
	mu      sync.Mutex
	answers map[string]fuzzAnswer // by packet type
}

type fuzzAnswer struct {
	status int
	hdr    http.Header
}

// parseAnswer reads "STATUS\nName: value\n...".
func parseAnswer(s string) fuzzAnswer {
	first, rest, _ := strings.Cut(s, "\n")
	st, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || st < 200 || st > 599 {
		st = 200
	}
	h := http.Header{}
	for _, line := range strings.Split(rest, "\n") {
		k, v, ok := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		// Only what net/http would send: a token name, a value without controls.
		if !ok || k == "" || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) }) ||
			strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			continue
		}
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Transfer-Encoding", "Connection", "Content-Encoding", "Trailer", "Location":
			continue // framing, which net/http checks itself
		}
		h.Add(k, v)
	}
	return fuzzAnswer{status: st, hdr: h}
}

func (s *uploadFuzzServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a := s.answers[r.Header.Get("BITS-Packet-Type")]
	s.mu.Unlock()
	for k, vs := range a.hdr {
		w.Header()[k] = vs
	}
	w.WriteHeader(a.status)
}

// FuzzUploadAcks: the upload client against a server whose every Ack the
// fuzzer writes (status and headers of Ping, Create-Session and Fragment).
// The upload ends by itself, in success only when the server acknowledged
// every byte, else with a classified error that has a BITS name; a reply
// URL handed back is absolute.
func FuzzUploadAcks(f *testing.F) {
	good := "200\nBITS-Packet-Type: Ack"
	f.Add(good, good+"\nBITS-Protocol: "+UploadProtocol+"\nBITS-Session-Id: {s}", good+"\nBITS-Received-Content-Range: 10\nBITS-Reply-URL: /r", uint16(10))
	f.Add(good, good+"\nBITS-Protocol: "+UploadProtocol+"\nBITS-Session-Id: {s}", "416\nBITS-Packet-Type: Ack\nBITS-Received-Content-Range: 0", uint16(10))
	f.Add(good, good+"\nBITS-Protocol: "+UploadProtocol+"\nBITS-Session-Id: {s}", good+"\nBITS-Received-Content-Range: 3", uint16(10))
	f.Add(good, good+"\nBITS-Protocol: x\nBITS-Session-Id: {s}", good, uint16(0))
	f.Add("500\nBITS-Packet-Type: Ack\nBITS-Error-Code: 0x80200011\nBITS-Error-Context: 0x7", "", "", uint16(1))
	f.Add(good, good+"\nBITS-Protocol: "+UploadProtocol+"\nBITS-Session-Id: {s}", "404\nBITS-Packet-Type: Ack\nBITS-Error: 0x8020001F", uint16(5))
	f.Add("200", "201", "413\nBITS-Packet-Type: ack", uint16(3000))
	srv := &uploadFuzzServer{}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	d := NewHTTP(HTTPConfig{StallTimeout: time.Second, AckTimeout: time.Second, ConnectTimeout: time.Second})
	defer d.CloseIdleConnections()
	f.Fuzz(func(t *testing.T, ping, create, frag string, size uint16) {
		srv.mu.Lock()
		srv.answers = map[string]fuzzAnswer{"Ping": parseAnswer(ping), "Create-Session": parseAnswer(create), "Fragment": parseAnswer(frag)}
		srv.mu.Unlock()
		data := bytes.Repeat([]byte{'x'}, int(size))
		mt := &memUpload{}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		res, err := d.Upload(ctx, UploadRequest{URL: hs.URL + "/up/f.bin", Source: bytes.NewReader(data), Size: int64(size),
			Name: "f.bin", FragmentSize: MinFragmentSize}, mt)
		if el := time.Since(start); el > 10*time.Second {
			t.Fatalf("the upload took %v against a server that answers at once (%v)", el, err)
		}
		if err != nil {
			te := AsError(err)
			if !te.Code.Failed() || strings.HasPrefix(te.Code.Name(), "0x") {
				t.Fatalf("error %v has no BITS name (%s)", err, te.Code.Hex())
			}
			return
		}
		mt.mu.Lock()
		acked := mt.acked
		mt.mu.Unlock()
		if acked != int64(size) {
			t.Fatalf("success with %d of %d bytes acknowledged", acked, size)
		}
		if res.ReplyURL != "" {
			u, err := url.Parse(res.ReplyURL)
			if err != nil || !u.IsAbs() {
				t.Fatalf("reply URL %q", res.ReplyURL)
			}
		}
	})
}

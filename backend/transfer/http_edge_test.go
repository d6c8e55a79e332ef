package transfer

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"ferry/backend/bits"
)

// rangeHandler serves body with ETag "e"; reply may rewrite a 206's
// Content-Range and length before the body is sent.
func rangeHandler(body []byte, headLen string, reply func(start int64, h http.Header) (end int64)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"e"`)
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Length", headLen)
			return
		}
		start, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(r.Header.Get("Range"), "bytes="), "-"), 10, 64)
		end := reply(start, w.Header())
		w.Header().Set("Content-Length", fmt.Sprint(end-start+1))
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(body[start : end+1])
	}
}

func TestHTTPShortRangesAreContinued(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 1000)
	var gets atomic.Int32
	srv := httptest.NewServer(rangeHandler(body, "10000", func(start int64, h http.Header) int64 {
		gets.Add(1)
		end := min(start+2999, 9999) // the server sends at most 3000 bytes per reply
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/10000", start, end))
		return end
	}))
	defer srv.Close()
	m := newTarget(t)
	if err := run(t, testHTTP(), Request{URL: srv.URL}, m); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, m.bytes(), body)
	if n := gets.Load(); n != 4 {
		t.Fatalf("%d GETs, want 4", n)
	}
}

func TestHTTPContentRangeChecks(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 100)
	for _, tc := range []struct {
		name    string
		headLen string
		cr      func(start int64) (string, int64)
		code    bits.HRESULT
	}{
		{"unknown total", "100", func(s int64) (string, int64) { return fmt.Sprintf("bytes %d-99/*", s), 99 }, bits.BG_E_MISSING_FILE_SIZE},
		{"garbage", "100", func(int64) (string, int64) { return "bytes lots", 99 }, bits.BG_E_INVALID_SERVER_RESPONSE},
		{"end past total", "100", func(s int64) (string, int64) { return fmt.Sprintf("bytes %d-99/99", s), 99 }, bits.BG_E_INVALID_SERVER_RESPONSE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(rangeHandler(body, tc.headLen, func(start int64, h http.Header) int64 {
				cr, end := tc.cr(start)
				h.Set("Content-Range", cr)
				return end
			}))
			defer srv.Close()
			m := newTarget(t)
			wantCode(t, run(t, testHTTP(), Request{URL: srv.URL}, m), tc.code, false, bits.ContextRemoteFile)
			if len(m.bytes()) != 0 {
				t.Fatal("bytes written from a rejected reply")
			}
		})
	}
}

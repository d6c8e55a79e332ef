package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"ferry/backend/bits"
)

func TestBodyKeepsBITSErrorsAndWrapsTheRest(t *testing.T) {
	wrapped := fmt.Errorf("while adding: %w", bits.Errorf(bits.BG_E_INVALID_STATE, "job is TRANSFERRED"))
	for _, tc := range []struct {
		err  error
		want ErrorBody
	}{
		{bits.Errorf(bits.BG_E_NOT_FOUND, "no job x"), ErrorBody{bits.BG_E_NOT_FOUND, "BG_E_NOT_FOUND", "no job x"}},
		{wrapped, ErrorBody{bits.BG_E_INVALID_STATE, "BG_E_INVALID_STATE", "job is TRANSFERRED"}},
		{errors.New("disk on fire"), ErrorBody{bits.E_FAIL, "E_FAIL", "disk on fire"}},
	} {
		if got := *Body(tc.err); got != tc.want {
			t.Errorf("Body(%v) = %+v, want %+v", tc.err, got, tc.want)
		}
		back := Body(tc.err).Err()
		if bits.CodeOf(back) != tc.want.Code || !strings.Contains(back.Error(), tc.want.Message) {
			t.Errorf("Err() of %+v = %v", tc.want, back)
		}
	}
}

func TestStatus(t *testing.T) {
	for code, want := range map[bits.HRESULT]int{
		bits.E_FAIL: 500, bits.BG_E_NOT_FOUND: 404, bits.E_ACCESSDENIED: 403, bits.BG_E_TOO_LARGE: 413,
		bits.ERROR_SERVICE_NOT_ACTIVE: 503, bits.E_NOTIMPL: 501, bits.E_INVALIDARG: 400, bits.BG_E_INVALID_STATE: 400,
	} {
		if got := Status(code); got != want {
			t.Errorf("Status(%s) = %d, want %d", code.Name(), got, want)
		}
	}
}

func TestMarshalKeepsTextReadable(t *testing.T) {
	b, err := Marshal(map[string]string{"local": "<a & b>"})
	if err != nil || string(b) != `{"local":"<a & b>"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	if _, err := Marshal(make(chan int)); bits.CodeOf(err) != bits.E_FAIL {
		t.Fatalf("Marshal(chan) = %v, want E_FAIL", err)
	}
}

func TestReadCall(t *testing.T) {
	read := func(body string) (map[string]any, error) {
		var v map[string]any
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		return v, ReadCall(httptest.NewRecorder(), r, &v)
	}
	if v, err := read(`{"op":"list"}`); err != nil || v["op"] != "list" {
		t.Fatalf("read = %v, %v", v, err)
	}
	if _, err := read(`{"op":`); bits.CodeOf(err) != bits.E_INVALIDARG {
		t.Fatalf("truncated JSON = %v, want E_INVALIDARG", err)
	}
	big, _ := json.Marshal(map[string]string{"op": strings.Repeat("x", MaxCall)})
	if _, err := read(string(big)); bits.CodeOf(err) != bits.BG_E_TOO_LARGE {
		t.Fatalf("%d bytes = %v, want BG_E_TOO_LARGE", len(big), err)
	}
}

// WriteResult sends the bytes of Reply{Result: Marshal(v)} with their
// length, and ReadResult gives back the result: sliced out of the engine's
// answers, decoded from anything else (and an error stays an error).
func TestResultRoundTrip(t *testing.T) {
	for _, v := range []any{nil, 5, "a \"b\" <c>", []any{}, map[string]any{"x": []int{1, 2}, "y": "}{]["}} {
		rec := httptest.NewRecorder()
		WriteResult(rec, v)
		raw, _ := Marshal(v)
		old, _ := Marshal(Reply{Result: raw})
		if got := rec.Body.String(); got != string(old)+"\n" {
			t.Fatalf("%v: WriteResult wrote %q, want %q", v, got, string(old)+"\n")
		}
		if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) {
			t.Fatalf("Content-Length %q for %d bytes", cl, rec.Body.Len())
		}
		res, err := ReadResult(rec.Result())
		if err != nil || string(res) != string(raw) {
			t.Fatalf("%v: ReadResult = %s, %v; want %s", v, res, err, raw)
		}
	}
	for body, want := range map[string]string{
		`{"result":{"a":1},"error":{"code":"0x80004005","name":"E_FAIL","message":"m"}}` + "\n": "E_FAIL",
		`{"result": [1, 2]}` + "\n":          "[1, 2]",
		`{"result":"x","error":null}` + "\n": `"x"`,
		`{}`:                                 "null",
		`{"result":[1,2]`:                    "read the engine's answer",
	} {
		resp := &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
		res, err := ReadResult(resp)
		got := string(res)
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s: got %q, want %q", body, got, want)
		}
	}
}

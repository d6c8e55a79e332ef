package wire

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParseResult: an answer as a client reads it. The fast path for
// what WriteResult frames trusts the engine (it is no validation), so the
// property is agreement: for any answer that is JSON, the result or error
// handed back is what decoding the whole answer gives.
func FuzzParseResult(f *testing.F) {
	for _, s := range []string{`{"result":{"a":1}}`, `{"result":[1,2]}`, `{"result":"x"}`, `{"error":{"code":2149580802,"name":"BG_E_NOT_FOUND","message":"m"}}`,
		`{"result":}`, `{"result":{"a":1}}}`, `{"result":"\u0000"}`, `{"result":{]}`, `{"result":[}`, `{"result":1 2}`, `{}`, `null`} {
		f.Add([]byte(s))
		f.Add([]byte(s + "\n"))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		raw, err := ParseResult(body)
		if !json.Valid(body) {
			return
		}
		var rep Reply
		if uerr := json.Unmarshal(body, &rep); uerr != nil {
			if err == nil {
				t.Fatalf("%q: the result %q of an answer that is no Reply (%v)", body, raw, uerr)
			}
			return
		}
		switch {
		case rep.Error != nil:
			if err == nil || err.Error() != rep.Error.Err().Error() {
				t.Fatalf("%q: error %v, want %v", body, err, rep.Error.Err())
			}
		case err != nil:
			t.Fatalf("%q: %v", body, err)
		case len(rep.Result) == 0:
			if string(raw) != "null" {
				t.Fatalf("%q: result %q, want null", body, raw)
			}
		default:
			var a, b any
			if json.Unmarshal(raw, &a) != nil || json.Unmarshal(rep.Result, &b) != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("%q: result %q, want %q", body, raw, rep.Result)
			}
		}
	})
}

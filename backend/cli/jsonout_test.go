package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"testing/iotest"

	"ferry/backend/api/wire"
	"ferry/backend/bits"
)

// writeIndented prints exactly what json.Indent printed before it.
func TestWriteIndentedMatchesJSONIndent(t *testing.T) {
	docs := []string{
		`null`, `true`, `5`, `-1.5e3`, `"a \"quoted\" \\ string, with: {brackets} [and] commas"`,
		`{}`, `[]`, `[[]]`, `{"a":{}}`, `[{},[],{"b":[]}]`,
		`{"a":1,"b":[1,2,{"c":"d"}],"e":{"f":null,"g":"\u003chtml\u003e <x> é 日本"}}`,
		` { "spaced" : [ 1 , 2 ] , "x" : "y z" } `,
		`{"k":"ends with backslash \\"}`,
	}
	// And what the engine sends: a job's info, files and all.
	j := &bits.Job{ID: "1", DisplayName: "a <b> & c", Files: []bits.File{{RemoteName: "http://h/x?a=1&b=2", LocalName: `C:\dir\"q".bin`}, {}}}
	b, err := wire.Marshal([]bits.JobInfo{j.Info(true), j.Info(false)})
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, string(b))
	for _, d := range docs {
		var want bytes.Buffer
		if err := json.Indent(&want, []byte(strings.TrimSpace(d)), "", "  "); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		want.WriteByte('\n')
		var got bytes.Buffer
		if err := writeIndented(&got, []byte(d)); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if got.String() != want.String() {
			t.Errorf("%s:\n got %q\nwant %q", d, got.String(), want.String())
		}
	}
	for _, bad := range []string{`{"a":1`, `[1,2]]`, `"open`, `{"a":"b\"}`, `}`} {
		if err := writeIndented(&bytes.Buffer{}, []byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// A framed answer read a few bytes at a time prints what writeIndented
// prints of its result; a body framed otherwise is left to the caller.
func TestWriteIndentedResultStreams(t *testing.T) {
	for _, v := range []string{`[]`, `null`, `"x}y"`, `[{"a":"b\\\"}","c":[1,{}]},{"d":[]}]`} {
		var want bytes.Buffer
		if err := writeIndented(&want, []byte(v)); err != nil {
			t.Fatal(err)
		}
		for _, body := range []string{`{"result":` + v + "}\n", `{"result":` + v + "}"} {
			var got bytes.Buffer
			ok, _, err := writeIndentedResult(&got, iotest.OneByteReader(strings.NewReader(body)))
			if !ok || err != nil || got.String() != want.String() {
				t.Fatalf("%q: %v %v %q, want %q", body, ok, err, got.String(), want.String())
			}
		}
	}
	ok, head, err := writeIndentedResult(&bytes.Buffer{}, strings.NewReader(`{"x":1,"result":[1]}`))
	if ok || err != nil || string(head) != `{"x":1,"re` {
		t.Fatalf("unframed: %v %q %v", ok, head, err)
	}
	for _, bad := range []string{`{"result":[1,2]`, `{"result":[1]}, "more"}`, `{"result":}`, `{"result":"open`} {
		if ok, _, err := writeIndentedResult(&bytes.Buffer{}, strings.NewReader(bad)); !ok || err == nil {
			t.Errorf("%s: %v %v", bad, ok, err)
		}
	}
}

package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"ferry/backend/bits"
)

// decodeFileRow reads every row the store writes as json.Unmarshal does,
// and leaves to it what it does not read.
func TestDecodeFileRowMatchesEncodingJSON(t *testing.T) {
	files := []bits.File{
		{},
		{RemoteName: "http://h/a b?c=1&d=<2>", LocalName: "/tmp/ü 日本/x.bin", BytesTotal: -1},
		{RemoteName: "https://h/x", LocalName: `C:\dir\x.bin`, BytesTotal: 1 << 40, BytesTransferred: 12345, Transferred: true,
			Committed: true, TempName: "/tmp/.x.ferry", TempID: "fe00:1", DirID: "fe00:2", SHA256: "ab",
			Validator: bits.Validator{Size: 7, ETag: `W/"xyz"`, LastModified: "Mon, 07 Dec 2026 10:00:00 GMT"},
			ModTime:   time.Date(2026, 12, 7, 10, 0, 0, 123456789, time.UTC)},
		{RemoteName: "q\"uote", ModTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600))},
		{LocalName: "tab\there", BytesTransferred: -5},
	}
	for i, f := range files {
		b, err := json.Marshal(&f)
		if err != nil {
			t.Fatal(err)
		}
		var want, got bits.File
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if !decodeFileRow(b, &got) {
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("file %d (%s):\n got %+v\nwant %+v", i, b, got, want)
		}
	}
	// The rows the store writes take the fast path, escapes and all.
	for _, f := range files {
		b, _ := json.Marshal(&f)
		if !decodeFileRow(b, &bits.File{}) {
			t.Fatalf("the fast path refused %s", b)
		}
	}
	// What it leaves to encoding/json, f untouched.
	for _, row := range []string{
		`{"remoteName":"a\q"}`, `{"remoteName":null}`, `{"RemoteName":"x"}`, `{"unknown":1}`,
		`{"bytesTotal":1.5}`, `{"bytesTotal":1e3}`, `{"modTime":"yesterday"}`, `{"a":1} x`, `{"remoteName":"x"`, `[]`,
	} {
		f := bits.File{LocalName: "kept"}
		if decodeFileRow([]byte(row), &f) || f.LocalName != "kept" {
			t.Errorf("%s: read by the fast path (%+v)", row, f)
		}
	}
	// Rows json.Marshal would not write, read as encoding/json reads them.
	for _, row := range []string{"{\"localName\":\"\xff\"}", `{"localName":"\u00e9\n"}`, ` { "dirId" : "x" , "bytesTotal" : -3 } `} {
		var want, got bits.File
		if err := json.Unmarshal([]byte(row), &want); err != nil {
			t.Fatal(err)
		}
		if !decodeFileRow([]byte(row), &got) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", row, got, want)
		}
	}
}

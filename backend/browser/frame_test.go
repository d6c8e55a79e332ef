package browser

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	msgs := []any{map[string]any{"type": "hello", "id": 1}, map[string]string{"name": "žluťoučký kůň ✓"}, []int{}}
	for _, m := range msgs {
		if err := WriteFrame(&buf, m); err != nil {
			t.Fatal(err)
		}
	}
	// The length is in the machine's byte order, as browsers write it.
	if n := binary.NativeEndian.Uint32(buf.Bytes()[:4]); n != uint32(len(`{"id":1,"type":"hello"}`)) {
		t.Fatalf("first length %d", n)
	}
	want := []string{`{"id":1,"type":"hello"}`, `{"name":"žluťoučký kůň ✓"}`, `[]`}
	for _, w := range want {
		got, err := ReadFrame(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != w {
			t.Fatalf("got %s, want %s", got, w)
		}
	}
	if _, err := ReadFrame(&buf); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func TestFrameOversizedInputRefused(t *testing.T) {
	var hdr [4]byte
	binary.NativeEndian.PutUint32(hdr[:], MaxFrame+1)
	// Only the header is there: the host must refuse before reading (or
	// allocating) what it announces.
	_, err := ReadFrame(bytes.NewReader(hdr[:]))
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("got %v, want ErrFrameTooLarge", err)
	}
	// Exactly MaxFrame is fine.
	body := `"` + strings.Repeat("a", MaxFrame-2) + `"`
	var buf bytes.Buffer
	binary.NativeEndian.PutUint32(hdr[:], MaxFrame)
	buf.Write(hdr[:])
	buf.WriteString(body)
	if got, err := ReadFrame(&buf); err != nil || len(got) != MaxFrame {
		t.Fatalf("a frame of MaxFrame: %d bytes, %v", len(got), err)
	}
}

func TestFrameOversizedOutputRefused(t *testing.T) {
	var buf bytes.Buffer
	err := WriteFrame(&buf, strings.Repeat("x", MaxFrame))
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("got %v, want ErrFrameTooLarge", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("%d bytes written for a refused frame: the stream is out of step", buf.Len())
	}
}

func TestFrameBrokenInput(t *testing.T) {
	var hdr [4]byte
	binary.NativeEndian.PutUint32(hdr[:], 10)
	for name, in := range map[string][]byte{
		"short length": {1, 0},
		"short body":   append(hdr[:], `{"a":`...),
		"not JSON":     append(hdr[:], `not json!!`...),
		"not UTF-8":    append(hdr[:], []byte{'"', 0xff, 0xfe, 'a', 'a', 'a', 'a', 'a', 'a', '"'}...),
	} {
		if _, err := ReadFrame(bytes.NewReader(in)); err == nil || errors.Is(err, io.EOF) {
			t.Errorf("%s: got %v, want an error other than io.EOF", name, err)
		}
	}
}

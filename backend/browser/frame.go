// Package browser is Ferry's side of the browser extension: the native
// messaging host (`ferry native-host`), its framing, the callers it
// accepts, and the host manifests that `ferry browser install` writes.
package browser

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MaxFrame bounds one message either way. Chrome refuses a host's message
// over 1 MiB; the same cap on input keeps a broken or hostile peer from
// making the host allocate what it announces.
const MaxFrame = 1 << 20

// ErrFrameTooLarge is a frame over MaxFrame, in or out.
var ErrFrameTooLarge = errors.New("native message over 1 MiB")

// ReadFrame reads one message: a 32-bit length in the machine's byte order,
// then that many bytes of UTF-8 JSON. io.EOF means the browser closed the
// pipe between messages (the normal end).
func ReadFrame(r io.Reader) (json.RawMessage, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("read a message's length: %w", err)
		}
		return nil, err
	}
	n := binary.NativeEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return nil, fmt.Errorf("%w: the browser announced %d bytes", ErrFrameTooLarge, n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("read a message of %d bytes: %w", n, noEOF(err))
	}
	if !utf8.Valid(buf) || !json.Valid(buf) {
		return nil, errors.New("the message is not UTF-8 JSON")
	}
	return buf, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// WriteFrame encodes v and writes it as one message, length and body in
// one write. A message over MaxFrame is refused before anything is written,
// so the stream stays in step.
func WriteFrame(w io.Writer, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode a message: %w", err)
	}
	if len(body) > MaxFrame {
		return fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, len(body))
	}
	buf := make([]byte, 4+len(body))
	binary.NativeEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write a message: %w", err)
	}
	return nil
}

// Package wire is Ferry's wire format, written once: the error body
// {code, name, message}, the JSON encoding of results and events, the
// BITS-error-to-HTTP-status mapping and the bounded reading of a call. The
// control API, `ferry web`, the desktop window and the CLI all use it, so an
// error reads and maps the same whichever way it travelled.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"ferry/backend/bits"
	"ferry/backend/engine"
)

// MaxCall bounds a call's body. The largest legitimate argument is a
// password (bits.MaxPassword, 64 KiB) or a header list (16 KiB); a megabyte
// leaves room for any JSON spelling of those.
const MaxCall = 1 << 20

// ErrorBody is a failed call's error as every transport carries it.
type ErrorBody struct {
	Code    bits.HRESULT `json:"code"`
	Name    string       `json:"name"`
	Message string       `json:"message"`
}

// Reply is a call's answer: a result or an error.
type Reply struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *ErrorBody      `json:"error,omitempty"`
}

// AsError gives every error a BITS code: a *bits.Error anywhere in err's
// chain is kept, anything else is E_FAIL with err's text.
func AsError(err error) *bits.Error {
	var be *bits.Error
	if errors.As(err, &be) {
		return be
	}
	return &bits.Error{Code: bits.E_FAIL, Msg: err.Error()}
}

// Body turns any error into the wire form.
func Body(err error) *ErrorBody {
	be := AsError(err)
	return &ErrorBody{Code: be.Code, Name: be.Code.Name(), Message: be.Msg}
}

// Err turns a body read from the wire back into the *bits.Error it was.
func (b *ErrorBody) Err() error { return &bits.Error{Code: b.Code, Msg: b.Message} }

// Status is the HTTP status of a failed call with this code. Clients read
// the body; the status is for logs, proxies and curl.
func Status(code bits.HRESULT) int {
	switch code {
	case bits.BG_E_NOT_FOUND:
		return http.StatusNotFound
	case bits.E_ACCESSDENIED:
		return http.StatusForbidden
	case bits.BG_E_TOO_LARGE:
		return http.StatusRequestEntityTooLarge
	case bits.ERROR_SERVICE_NOT_ACTIVE:
		return http.StatusServiceUnavailable // no engine answered
	case bits.E_NOTIMPL:
		return http.StatusNotImplemented
	case bits.E_FAIL:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// Marshal encodes v without HTML escaping ("<local>" stays readable) and
// without a trailing newline (an SSE data line must be one line).
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, bits.Errorf(bits.E_FAIL, "encode the answer: %v", err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Result encodes an operation's result for a Reply ("null" for nil).
func Result(v any) (json.RawMessage, error) {
	b, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(b), nil
}

// encodeFailed is what WriteJSON sends when v cannot be encoded.
var encodeFailed = []byte(`{"error":{"code":"0x80004005","name":"E_FAIL","message":"could not encode the answer"}}`)

// WriteJSON answers with v as one JSON line.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = encodeFailed
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// WriteError answers with err in the wire form and its status.
func WriteError(w http.ResponseWriter, err error) {
	eb := Body(err)
	WriteJSON(w, Status(eb.Code), Reply{Error: eb})
}

// resultPrefix and resultSuffix frame a Reply with a result: the bytes
// Marshal(Reply{Result: raw}) makes of a compact raw.
const (
	resultPrefix = `{"result":`
	resultSuffix = "}\n"
)

// WriteResult answers a call that succeeded: the Reply's bytes, with the
// result encoded once and written as is (a list of 100,000 files is 30 MB:
// encoding it again as a json.RawMessage scanned and copied it twice), and
// a Content-Length, so that the client reads it into one buffer.
//
// It returns the size of the result, which the caller may weigh (a large
// answer leaves about its size in garbage).
func WriteResult(w http.ResponseWriter, v any) int64 {
	if s, ok := v.(JSONWriter); ok {
		// Streamed: no length, and an encoding failure can only cut the
		// answer short (which the client reports as unreadable).
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, resultPrefix)
		cw := &countWriter{w: w}
		if s.WriteJSON(cw) == nil {
			_, _ = io.WriteString(w, resultSuffix)
		}
		return cw.n
	}
	b, err := Marshal(v)
	if err != nil {
		WriteError(w, err)
		return 0
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(resultPrefix)+len(b)+len(resultSuffix)))
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, resultPrefix)
	_, _ = w.Write(b)
	_, _ = io.WriteString(w, resultSuffix)
	return int64(len(b))
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// JSONWriter is a result that writes its own JSON, as Marshal would
// encode it, a piece at a time (a long list), rather than being encoded
// whole first.
type JSONWriter interface {
	WriteJSON(w io.Writer) error
}

// ReadResult reads a successful answer's body and returns its result
// ("null" for none). The engine's answers (WriteResult) are sliced out of
// the body without another pass over it; anything else is decoded.
func ReadResult(resp *http.Response) (json.RawMessage, error) {
	var body []byte
	var err error
	if n := resp.ContentLength; n > 0 && n <= MaxAnswer {
		body = make([]byte, n)
		_, err = io.ReadFull(resp.Body, body)
	} else {
		// A streamed answer (no length): bytes.Buffer doubles as it grows,
		// where io.ReadAll's append grows a large buffer by a quarter,
		// copying a 30 MB answer several times over.
		var b bytes.Buffer
		_, err = b.ReadFrom(io.LimitReader(resp.Body, MaxAnswer+1))
		body = b.Bytes()
		if err == nil && len(body) > MaxAnswer {
			err = fmt.Errorf("the answer is larger than %d bytes", MaxAnswer)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read the engine's answer: %w", err)
	}
	return ParseResult(body)
}

// ParseResult is ReadResult's reading of a whole body.
func ParseResult(body []byte) (json.RawMessage, error) {
	if raw, ok := bytes.CutPrefix(body, []byte(resultPrefix)); ok {
		if raw, ok = bytes.CutSuffix(raw, []byte(resultSuffix)); ok && compactValue(raw) {
			return raw, nil
		}
	}
	var rep Reply
	if err := json.Unmarshal(body, &rep); err != nil {
		return nil, fmt.Errorf("read the engine's answer: %w", err)
	}
	if rep.Error != nil {
		return nil, rep.Error.Err()
	}
	if len(rep.Result) == 0 {
		return json.RawMessage("null"), nil
	}
	return rep.Result, nil
}

// MaxAnswer bounds an answer a client reads (a list of 100,000 files is
// about 30 MB).
const MaxAnswer = 1 << 30

// compactValue is a cheap check that b is one compact JSON value as
// Marshal writes it: it starts like a value, has no whitespace outside
// strings, and its strings and brackets close. It is no validation (the
// engine wrote it); a body that fails it is decoded the slow way, which
// reports what is wrong.
func compactValue(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	depth, inStr, esc := 0, false, false
	for i, c := range b {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			case c < 0x20:
				return false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth < 0 || (depth == 0 && i != len(b)-1) {
				return false
			}
		case depth == 0 && (c == ',' || c == ':'):
			return false
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return false
		}
	}
	return depth == 0 && !inStr
}

// drainLimit bounds how much of an oversized call is read and thrown away
// so that its sender gets the answer rather than a reset connection: a
// server that closes with unread data in its socket makes the kernel send a
// reset, and the sender, still writing, never reads the reply.
const drainLimit = 64 << 20

// ReadCall decodes one call's JSON body into v. A body over MaxCall is
// BG_E_TOO_LARGE (and is drained, up to drainLimit, so the caller reads
// the error); a body that is not JSON is E_INVALIDARG.
func ReadCall(w http.ResponseWriter, r *http.Request, v any) error {
	body := r.Body
	dec := json.NewDecoder(http.MaxBytesReader(w, body, MaxCall))
	err := dec.Decode(v)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
		return bits.Errorf(bits.BG_E_TOO_LARGE, "the call is larger than %d bytes, the most one call may carry", MaxCall)
	}
	if err != nil {
		return bits.Errorf(bits.E_INVALIDARG, "the request is not a valid call: %v", err)
	}
	// One call a body: anything after it is no call (Decode stops at the
	// end of the first value and would ignore it).
	if _, err := dec.Token(); err != io.EOF {
		return bits.Errorf(bits.E_INVALIDARG, "the request holds more than one JSON value; a call is one object")
	}
	return nil
}

// ReadError reads a failed HTTP answer's body into the *bits.Error it
// carries; a body that carries none is E_FAIL naming the status.
func ReadError(resp *http.Response) error {
	var rep Reply
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxCall))
	if err := json.Unmarshal(body, &rep); err != nil || rep.Error == nil {
		return bits.Errorf(bits.E_FAIL, "the engine answered %s", resp.Status)
	}
	return rep.Error.Err()
}

// overflowLine is the last line of an event stream whose reader fell
// behind: it names no job, so the reader lists them all again.
type overflowLine struct {
	Kind    engine.EventKind `json:"event"`
	Job     *struct{}        `json:"job"`
	Message string           `json:"message"`
}

// EventLine encodes one event as a line of the NDJSON event stream.
func EventLine(ev engine.Event) ([]byte, error) {
	var v any = ev
	if ev.Kind == engine.EventOverflow {
		v = overflowLine{Kind: ev.Kind, Message: fmt.Sprintf(
			"this reader fell more than %d events behind and was dropped; list the jobs again and resubscribe", engine.SubscriberBuffer)}
	}
	b, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

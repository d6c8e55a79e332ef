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

// WriteResult answers a call that succeeded.
func WriteResult(w http.ResponseWriter, v any) {
	raw, err := Result(v)
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, Reply{Result: raw})
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

// Package api is Ferry's control API: HTTP+JSON over the unix socket in
// FERRY_HOME, served by the engine's host and used by the CLI. Calls are
// the operations of package ops; errors travel as {code, name, message} so
// that a client prints exactly the engine's BITS error; events stream as
// newline-delimited JSON.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"ferry/backend/bits"
	"ferry/backend/ops"
)

// Paths of the API.
const (
	PathHello  = "/v1/hello"
	PathCall   = "/v1/call"
	PathEvents = "/v1/events"
)

// Hello identifies the engine that answers.
type Hello struct {
	Version string `json:"version"`
	PID     int    `json:"pid"`
	Home    string `json:"home"`
	Owner   string `json:"owner"`
}

// CallRequest is the body of a call: one operation of package ops.
type CallRequest struct {
	Op string `json:"op"`
	ops.Request
}

// ErrorBody is a failed call's error.
type ErrorBody struct {
	Code    bits.HRESULT `json:"code"`
	Name    string       `json:"name"`
	Message string       `json:"message"`
}

type callReply struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *ErrorBody      `json:"error,omitempty"`
}

// errorBody turns any error into the wire form (E_FAIL for foreign ones).
func errorBody(err error) *ErrorBody {
	var be *bits.Error
	if errors.As(err, &be) {
		return &ErrorBody{Code: be.Code, Name: be.Code.Name(), Message: be.Msg}
	}
	return &ErrorBody{Code: bits.E_FAIL, Name: bits.E_FAIL.Name(), Message: err.Error()}
}

// statusOf picks an HTTP status for a BITS code; clients read the body.
func statusOf(code bits.HRESULT) int {
	switch code {
	case bits.BG_E_NOT_FOUND:
		return http.StatusNotFound
	case bits.E_ACCESSDENIED:
		return http.StatusForbidden
	case bits.E_FAIL:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// marshal encodes without HTML escaping: "<local>" stays readable.
func marshal(v any) ([]byte, error) {
	var b jsonBuffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return b.buf, nil
}

type jsonBuffer struct{ buf []byte }

func (b *jsonBuffer) Write(p []byte) (int, error) { b.buf = append(b.buf, p...); return len(p), nil }

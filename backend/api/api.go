// Package api is Ferry's control API: HTTP+JSON over the unix socket in
// FERRY_HOME, served by the engine's host and used by the CLI. Calls are
// the operations of package ops; errors travel as {code, name, message} so
// that a client prints exactly the engine's BITS error; events stream as
// newline-delimited JSON.
package api

import (
	"ferry/backend/api/wire"
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

// ErrorBody is a failed call's error (the wire package owns the format).
type ErrorBody = wire.ErrorBody

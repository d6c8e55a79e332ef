package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"ferry/backend/api/wire"
	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/ops"
)

// Client talks to the engine of one FERRY_HOME.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client of the control socket at path (home.Socket()).
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dial(ctx, path)
		},
		DisableCompression: true,
		MaxIdleConns:       4,
	}
	return &Client{socket: path, hc: &http.Client{Transport: tr}}
}

// Close drops idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// ConnectError says that no engine could be reached.
type ConnectError struct {
	Socket string
	Err    error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("cannot reach the engine at %s: %v", e.Socket, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// NoEngine reports that nothing listens: starting an engine would help.
func (e *ConnectError) NoEngine() bool { return isNoEngine(e.Err) }

// Denied reports that the socket belongs to someone else.
func (e *ConnectError) Denied() bool { return isDenied(e.Err) }

// As lets a ConnectError read as the BITS error it means, so that every
// transport reports it alike: the socket is someone else's
// (E_ACCESSDENIED), or no engine answers (ERROR_SERVICE_NOT_ACTIVE).
func (e *ConnectError) As(target any) bool {
	t, ok := target.(**bits.Error)
	if !ok {
		return false
	}
	code := bits.ERROR_SERVICE_NOT_ACTIVE
	if e.Denied() {
		code = bits.E_ACCESSDENIED
	}
	*t = bits.Errorf(code, "%s", e.Error())
	return true
}

// AsConnectError finds a *ConnectError in err.
func AsConnectError(err error) (*ConnectError, bool) {
	var ce *ConnectError
	ok := errors.As(err, &ce)
	return ce, ok
}

func (c *Client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" {
			return nil, &ConnectError{Socket: c.socket, Err: oe.Err}
		}
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, fmt.Errorf("the engine did not answer: %w", ctxErr)
		}
		return nil, fmt.Errorf("talk to the engine: %w", err)
	}
	return resp, nil
}

// finish reads what is left of a reply (a JSON decoder stops at the end of
// its value, before a newline and a chunked body's last chunk) and closes
// it: a reply read to its end leaves its connection to the next call.
func finish(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// Hello asks who answers.
func (c *Client) Hello(ctx context.Context) (Hello, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://ferry"+PathHello, nil)
	if err != nil {
		return Hello{}, err
	}
	resp, err := c.do(req)
	if err != nil {
		return Hello{}, err
	}
	defer finish(resp)
	if resp.StatusCode != http.StatusOK {
		return Hello{}, wire.ReadError(resp)
	}
	var h Hello
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return Hello{}, fmt.Errorf("read the engine's hello: %w", err)
	}
	return h, nil
}

// Call runs one operation and returns its JSON result ("null" for none).
// A failure of the operation is a *bits.Error with the engine's code.
func (c *Client) Call(ctx context.Context, op string, r ops.Request) (json.RawMessage, error) {
	resp, err := c.post(ctx, op, r)
	if err != nil {
		return nil, err
	}
	defer finish(resp)
	return wire.ReadResult(resp)
}

// CallBody runs one operation and returns the body of its successful
// answer, {"result":…} (wire.ParseResult reads it whole), for a caller
// that handles a large result as it arrives. Close it when done.
func (c *Client) CallBody(ctx context.Context, op string, r ops.Request) (io.ReadCloser, error) {
	resp, err := c.post(ctx, op, r)
	if err != nil {
		return nil, err
	}
	return finishing{resp}, nil
}

// finishing is an answer's body that reads the rest of the reply when closed.
type finishing struct{ resp *http.Response }

func (f finishing) Read(p []byte) (int, error) { return f.resp.Body.Read(p) }
func (f finishing) Close() error               { finish(f.resp); return nil }

// post sends one call; an answer other than 200 is its error.
func (c *Client) post(ctx context.Context, op string, r ops.Request) (*http.Response, error) {
	body, err := wire.Marshal(CallRequest{Op: op, Request: r})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://ferry"+PathCall, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer finish(resp)
		return nil, wire.ReadError(resp)
	}
	return resp, nil
}

// CallInto runs an operation and decodes its result into out.
func (c *Client) CallInto(ctx context.Context, op string, r ops.Request, out any) error {
	raw, err := c.Call(ctx, op, r)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode the result of %s: %w", op, err)
	}
	return nil
}

// Info is a convenience for the info operation.
func (c *Client) Info(ctx context.Context, job string) (bits.JobInfo, error) {
	var in bits.JobInfo
	err := c.CallInto(ctx, "info", ops.Request{Args: []string{job}}, &in)
	return in, err
}

// EventStream is a subscription to the engine's events.
type EventStream struct {
	body io.ReadCloser
	sc   *bufio.Scanner
}

// Events subscribes; it returns once the engine has subscribed, so every
// later change arrives. Cancel ctx or Close to end it.
func (c *Client) Events(ctx context.Context) (*EventStream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://ferry"+PathEvents, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, wire.ReadError(resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	return &EventStream{body: resp.Body, sc: sc}, nil
}

// ErrStreamEnded is returned by Next when the engine closed the stream.
var ErrStreamEnded = errors.New("the engine ended the event stream (it stopped?)")

// Next waits for the next event; raw is its JSON line as the engine sent it.
func (s *EventStream) Next() (ev engine.Event, raw []byte, err error) {
	for s.sc.Scan() {
		line := s.sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		raw = append([]byte(nil), line...)
		if err := json.Unmarshal(raw, &ev); err != nil {
			return ev, raw, fmt.Errorf("decode event: %w", err)
		}
		return ev, raw, nil
	}
	if err := s.sc.Err(); err != nil {
		return ev, nil, fmt.Errorf("read events: %w", err)
	}
	return ev, nil, ErrStreamEnded
}

// Close ends the subscription.
func (s *EventStream) Close() error { return s.body.Close() }

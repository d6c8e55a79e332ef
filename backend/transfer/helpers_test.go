package transfer

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
)

// memTarget is an in-memory Target that checks the driver's contract:
// Sized comes before the first Write after a Reset.
type memTarget struct {
	t       testing.TB
	mu      sync.Mutex
	buf     []byte
	resets  int
	sized   []bits.Validator
	ready   bool  // Sized was called since the last Reset
	writes  int   // number of Write calls
	failAt  int64 // >0: Write fails once the buffer would exceed this size
	failErr error
}

func newTarget(t testing.TB) *memTarget { return &memTarget{t: t} }

func (m *memTarget) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.ready {
		m.t.Errorf("Write of %d bytes before Sized", len(p))
	}
	if m.failAt > 0 && int64(len(m.buf)+len(p)) > m.failAt {
		err := m.failErr
		if err == nil {
			err = errors.New("disk says no")
		}
		m.failAt = 0 // once
		return 0, err
	}
	m.writes++
	m.buf = append(m.buf, p...)
	return len(p), nil
}

func (m *memTarget) Reset() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf, m.ready = m.buf[:0], false
	m.resets++
	return nil
}

func (m *memTarget) Sized(v bits.Validator) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sized = append(m.sized, v)
	m.ready = true
	return nil
}

// bytes returns a copy of what was written.
func (m *memTarget) bytes() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.buf...)
}

// validator is the last version announced through Sized.
func (m *memTarget) validator() bits.Validator {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sized) == 0 {
		return bits.Validator{}
	}
	return m.sized[len(m.sized)-1]
}

// resume is the Request an engine would send after what m holds.
func (m *memTarget) resume(url string, opts Options) Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := Request{URL: url, Offset: int64(len(m.buf)), Options: opts}
	if len(m.sized) > 0 && len(m.buf) > 0 {
		r.Validator = m.sized[len(m.sized)-1]
	}
	// The engine starts a resumed file as "already sized" for its bytes.
	m.ready = m.ready || len(m.buf) > 0
	return r
}

func testHTTP() *HTTPDriver {
	return NewHTTP(HTTPConfig{StallTimeout: time.Second, ConnectTimeout: 2 * time.Second})
}

func run(t testing.TB, d Driver, req Request, m *memTarget) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return d.Download(ctx, req, m)
}

// wantCode asserts a classified error.
func wantCode(t testing.TB, err error, code bits.HRESULT, transient bool, ctx bits.ErrorContext) *Error {
	t.Helper()
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("got %v (%T), want *Error %s", err, err, code.Name())
	}
	if te.Code != code || te.Transient != transient || te.Context != ctx {
		t.Fatalf("got %s transient=%v context=%s (%v); want %s transient=%v context=%s",
			te.Code.Name(), te.Transient, te.Context, te.Err, code.Name(), transient, ctx)
	}
	return te
}

func wantBytes(t testing.TB, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		n := 0
		for n < len(got) && n < len(want) && got[n] == want[n] {
			n++
		}
		t.Fatalf("content differs: got %d bytes, want %d, first difference at %d", len(got), len(want), n)
	}
}

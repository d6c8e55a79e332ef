package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"sync/atomic"
	"testing"

	"ferry/backend/api"
	"ferry/backend/bits"
	"ferry/backend/browser/manifests"
	"ferry/backend/ops"
)

// listOnly is an engine that answers list with no jobs.
type listOnly struct{}

func (listOnly) Call(context.Context, string, ops.Request) (json.RawMessage, error) {
	return json.RawMessage(`[]`), nil
}

func (listOnly) Events(context.Context) (*api.EventStream, error) {
	return nil, bits.Errorf(bits.E_NOTIMPL, "no events here")
}

// TestHostConnectsOnce: requests and a watch arriving together share one
// connection to the engine (run with -race).
func TestHostConnectsOnce(t *testing.T) {
	var connects atomic.Int32
	h := &Host{Home: t.TempDir(), Connect: func(context.Context) (Engine, error) {
		connects.Add(1)
		return listOnly{}, nil
	}}
	var in bytes.Buffer
	for i := range 5 {
		_ = WriteFrame(&in, map[string]any{"id": i, "type": "watch"})
		_ = WriteFrame(&in, map[string]any{"id": 100 + i, "type": "jobs"})
	}
	var out bytes.Buffer // Host writes one frame at a time
	if err := h.Serve(context.Background(), manifests.FamilyChromium, &in, &out); err != nil {
		t.Fatal(err)
	}
	if n := connects.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
	frames := 0
	for {
		if _, err := ReadFrame(&out); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		frames++
	}
	// Each jobs request is answered; each watch answers with its error (no events here).
	if frames != 10 {
		t.Fatalf("%d frames, want 10", frames)
	}
}

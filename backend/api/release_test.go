package api

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"ferry/backend/ops"
)

// After a large answer the engine gives its memory back to the OS (a
// forced collection, debug.FreeOSMemory), so that an engine which listed
// 100,000 files does not keep the garbage of that answer resident.
func TestLargeAnswerReleasesMemory(t *testing.T) {
	cl, srv := serve(t, filepath.Join(t.TempDir(), "ferry.sock"))
	srv.bigAnswer.Store(4 << 10)
	ctx := context.Background()
	for i := range 20 {
		if _, err := cl.Call(ctx, "create", ops.Request{Args: []string{fmt.Sprint("job ", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	forced := func() uint32 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.NumForcedGC
	}
	before := forced()
	raw, err := cl.Call(ctx, "list", ops.Request{})
	if err != nil || len(raw) < 4<<10 {
		t.Fatalf("list: %d bytes, %v", len(raw), err)
	}
	for deadline := time.Now().Add(10 * time.Second); forced() == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no collection returned the memory of a large answer")
		}
	}
}

package engine

import (
	"fmt"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// BenchmarkSmallFiles is one job of 500 files of 16 KiB from a local test
// server: add, transfer, complete.
func BenchmarkSmallFiles(b *testing.B) {
	srv := testsrv.New(b)
	const n = 500
	for i := range n {
		srv.Handle(fmt.Sprintf("/f%d", i), testsrv.File{Size: 16 << 10})
	}
	h := newHarness(b, func(c *Config) { c.Logger = nil })
	h.must(h.m.SetSetting(KeyMaxFilesPerJob, "100000"))
	for i := 0; b.Loop(); i++ {
		in, err := h.m.CreateJob("small", bits.TypeDownload)
		h.must(err)
		specs := make([]FileSpec, n)
		for k := range specs {
			specs[k] = FileSpec{RemoteName: srv.URL(fmt.Sprintf("/f%d", k)), LocalName: h.path(fmt.Sprintf("r%d-f%d", i, k))}
		}
		h.must(h.m.AddFileSet(in.ID, specs))
		h.must(h.m.SetPriority(in.ID, bits.PriorityForeground))
		h.must(h.m.Resume(in.ID))
		h.waitState(in.ID, bits.StateTransferred)
		_, err = h.m.Complete(in.ID)
		h.must(err)
	}
}

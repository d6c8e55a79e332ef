package engine

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/internal/testenv"
)

// BenchmarkSmallFiles is one job of 500 files of 16 KiB from a real nginx:
// add, transfer, complete. FERRY_BENCH_DIR puts the files on another file
// system than the temporary directory.
func BenchmarkSmallFiles(b *testing.B) {
	root := b.TempDir()
	const n = 500
	for i := range n {
		data := make([]byte, 16<<10)
		_, _ = rand.Read(data)
		if err := os.WriteFile(filepath.Join(root, fmt.Sprint("f", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	base := testenv.Nginx(b, root)
	out := b.TempDir()
	if d := os.Getenv("FERRY_BENCH_DIR"); d != "" {
		var err error
		if out, err = os.MkdirTemp(d, "bench"); err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(out)
	}
	h := newHarness(b, func(c *Config) { c.Logger = nil })
	h.must(h.m.SetSetting(KeyMaxFilesPerJob, "100000"))
	for i := 0; b.Loop(); i++ {
		in, err := h.m.CreateJob("small", bits.TypeDownload)
		h.must(err)
		specs := make([]FileSpec, n)
		for k := range specs {
			specs[k] = FileSpec{RemoteName: fmt.Sprintf("%s/f%d", base, k), LocalName: filepath.Join(out, fmt.Sprintf("r%d-f%d", i, k))}
		}
		h.must(h.m.AddFileSet(in.ID, specs))
		h.must(h.m.SetPriority(in.ID, bits.PriorityForeground))
		h.must(h.m.Resume(in.ID))
		h.waitState(in.ID, bits.StateTransferred)
		_, err = h.m.Complete(in.ID)
		h.must(err)
	}
}

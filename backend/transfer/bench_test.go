package transfer

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/internal/testenv"
)

// fileTarget writes to a real file, as the engine's temporary file does.
type fileTarget struct{ f *os.File }

func (ft *fileTarget) Write(p []byte) (int, error) { return ft.f.Write(p) }
func (ft *fileTarget) Reset() error {
	if err := ft.f.Truncate(0); err != nil {
		return err
	}
	_, err := ft.f.Seek(0, io.SeekStart)
	return err
}
func (ft *fileTarget) Sized(bits.Validator) error { return nil }

type discardTarget struct{}

func (discardTarget) Write(p []byte) (int, error) { return len(p), nil }
func (discardTarget) Reset() error                { return nil }
func (discardTarget) Sized(bits.Validator) error  { return nil }

// BenchmarkNginxDownload fetches one file from nginx into a file, to compare
// with `curl -o`. FERRY_BENCH_MB sets the size (default 256).
func BenchmarkNginxDownload(b *testing.B) {
	size := 256
	if s, err := strconv.Atoi(os.Getenv("FERRY_BENCH_MB")); err == nil && s > 0 {
		size = s
	}
	root := b.TempDir()
	src, err := os.Create(filepath.Join(root, "bench.bin"))
	if err != nil {
		b.Fatal(err)
	}
	if err := src.Truncate(int64(size) << 20); err != nil { // sparse: no disk cost
		b.Fatal(err)
	}
	src.Close()
	base := testenv.Nginx(b, root)
	d := NewHTTP(HTTPConfig{})
	out, err := os.Create(filepath.Join(b.TempDir(), "out.bin"))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	var ft Target = &fileTarget{f: out}
	if os.Getenv("FERRY_BENCH_DISCARD") != "" { // network path only, like curl -o /dev/null
		ft = discardTarget{}
	}
	b.SetBytes(int64(size) << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ft.Reset(); err != nil {
			b.Fatal(err)
		}
		if err := d.Download(context.Background(), Request{URL: base + "/bench.bin"}, ft); err != nil {
			b.Fatal(err)
		}
	}
}

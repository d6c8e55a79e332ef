package transfer

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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

// BenchmarkNginxSmallFiles fetches the files of one job, one after another
// as the engine does, from nginx into files: the driver's share of the
// small-files case of `make bench` (no fsync, no bookkeeping). One op is
// one file; FERRY_BENCH_FILES sets how many distinct files (default 2000),
// FERRY_BENCH_DISCARD drops the bytes instead of writing files.
func BenchmarkNginxSmallFiles(b *testing.B) {
	files := 2000
	if s, err := strconv.Atoi(os.Getenv("FERRY_BENCH_FILES")); err == nil && s > 0 {
		files = s
	}
	root := b.TempDir()
	body := make([]byte, 16<<10)
	for i := range files {
		body[0], body[1] = byte(i), byte(i>>8)
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("f%05d", i)), body, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	base := testenv.Nginx(b, root)
	d := NewHTTP(HTTPConfig{})
	dir := b.TempDir()
	discard := os.Getenv("FERRY_BENCH_DISCARD") != ""
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("f%05d", i%files)
		req := Request{URL: base + "/" + name}
		if discard { // network path only
			if err := d.Download(context.Background(), req, discardTarget{}); err != nil {
				b.Fatal(err)
			}
			continue
		}
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		err = d.Download(context.Background(), req, &fileTarget{f: f})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if ns, ok := curlPerFile(b, base, files, discard); ok {
		b.ReportMetric(ns, "curl-ns/file")
	}
}

// curlPerFile times curl fetching the same files in one process over one
// kept-alive connection (a config of url/output pairs), for comparison in
// the same run; ok is false when curl is not installed.
func curlPerFile(b *testing.B, base string, files int, discard bool) (float64, bool) {
	bin, err := exec.LookPath("curl")
	if err != nil {
		return 0, false
	}
	dir := b.TempDir()
	var cfg strings.Builder
	for i := range files {
		out := filepath.Join(dir, fmt.Sprintf("f%05d", i))
		if discard {
			out = os.DevNull
		}
		fmt.Fprintf(&cfg, "url = \"%s/f%05d\"\noutput = \"%s\"\n", base, i, out)
	}
	list := filepath.Join(dir, "curl.cfg")
	if err := os.WriteFile(list, []byte(cfg.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if out, err := exec.Command(bin, "-sS", "-K", list).CombinedOutput(); err != nil {
		b.Fatalf("curl: %v: %s", err, out)
	}
	return float64(time.Since(start).Nanoseconds()) / float64(files), true
}

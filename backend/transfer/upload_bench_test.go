package transfer

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"ferry/backend/uploadserver"
)

// BenchmarkUpload sends one file from disk to an uploadserver.Server on
// loopback (Serve, with its hardening), every fragment fsynced before its
// Ack: the hot path of an upload job without the engine's bookkeeping.
// FERRY_BENCH_MB sets the size (default 64).
func BenchmarkUpload(b *testing.B) {
	size := 64
	if s, err := strconv.Atoi(os.Getenv("FERRY_BENCH_MB")); err == nil && s > 0 {
		size = s
	}
	n := int64(size) << 20
	srcPath := filepath.Join(b.TempDir(), "src.bin")
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	src, err := os.Create(srcPath)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < size; i++ {
		if _, err := src.Write(data); err != nil {
			b.Fatal(err)
		}
	}
	src.Close()
	dir := b.TempDir()
	us, err := uploadserver.New(uploadserver.Config{Dir: dir, AllowOverwrite: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer us.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- us.Serve(ctx, l) }()
	defer func() { cancel(); <-served }()
	d := NewHTTP(HTTPConfig{})
	f, err := os.Open(srcPath)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := UploadRequest{URL: fmt.Sprintf("http://%s/up.bin", l.Addr()), Source: f, Size: n, Name: "up.bin"}
		res, err := d.Upload(context.Background(), req, &memUpload{})
		if err != nil {
			b.Fatal(err)
		}
		req.SessionID = res.SessionID
		if err := d.CloseSession(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if st, err := os.Stat(filepath.Join(dir, "up.bin")); err != nil || st.Size() != n {
		b.Fatalf("stored: %v %v", st, err)
	}
}

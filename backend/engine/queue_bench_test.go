package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/store"
	"ferry/backend/transfer"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// openQueue opens an engine over the store at db (not started).
func openQueue(tb testing.TB, db string) (*Manager, *store.Store) {
	tb.Helper()
	st, err := store.Open(db)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := New(Config{Store: st, Owner: "tester", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Drivers: []transfer.Driver{transfer.NewHTTP(transfer.HTTPConfig{}), transfer.NewFile()}})
	if err != nil {
		st.Close()
		tb.Fatal(err)
	}
	return m, st
}

// buildQueue fills the store at db with jobs suspended download jobs of
// files files each, through the engine, many at a time.
func buildQueue(tb testing.TB, db string, jobs, files int) {
	tb.Helper()
	m, st := openQueue(tb, db)
	defer st.Close()
	defer m.Close()
	for k, v := range map[string]int{KeyMaxJobsPerUser: jobs, KeyMaxJobsPerMachine: jobs, KeyMaxFilesPerJob: files} {
		if err := m.SetSetting(k, fmt.Sprint(v)); err != nil {
			tb.Fatal(err)
		}
	}
	dir := filepath.Dir(db)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(jobs); i = next.Add(1) - 1 {
				in, err := m.CreateJob(fmt.Sprint("queue ", i), bits.TypeDownload)
				if err != nil {
					errs <- err
					return
				}
				specs := make([]FileSpec, files)
				for f := range specs {
					specs[f] = FileSpec{RemoteName: fmt.Sprintf("http://127.0.0.1:9/q/%06d/%03d.bin", i, f),
						LocalName: filepath.Join(dir, fmt.Sprintf("%06d-%03d.bin", i, f))}
				}
				if err := m.AddFileSet(in.ID, specs); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkQueue is a queue of FERRY_BENCH_JOBS jobs (default 10,000) of
// FERRY_BENCH_FILES files (default 10): the engine's start (the store's
// load), and list with and without files, encoded as the API sends them.
// live-MB is the heap that stays after the load (after a GC).
func BenchmarkQueue(b *testing.B) {
	jobs, files := envInt("FERRY_BENCH_JOBS", 10000), envInt("FERRY_BENCH_FILES", 10)
	db := filepath.Join(b.TempDir(), "ferry.db")
	buildQueue(b, db, jobs, files)
	b.Run("Load", func(b *testing.B) {
		for b.Loop() {
			m, st := openQueue(b, db)
			m.Close()
			st.Close()
		}
	})
	m, st := openQueue(b, db)
	defer st.Close()
	defer m.Close()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	for _, verbose := range []bool{false, true} {
		name := "List"
		if verbose {
			name = "ListVerbose"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				l := m.List(false, verbose)
				if len(l) != jobs {
					b.Fatalf("%d jobs listed", len(l))
				}
				if err := json.NewEncoder(io.Discard).Encode(l); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-MB")
		})
	}
}

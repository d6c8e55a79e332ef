// Command queuegen fills a FERRY_HOME with a queue for make bench: JOBS
// suspended download jobs of FILES files each, written through the engine
// (its checks and its store), many at a time so that their commits group.
// No engine may be running on that home (queuegen holds its lock).
//
//	FERRY_HOME=/tmp/q go run ./scripts/queuegen -jobs 10000 -files 10
package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/home"
	"ferry/backend/store"
	"ferry/backend/transfer"
)

func main() {
	jobs := flag.Int("jobs", 10000, "jobs to create")
	files := flag.Int("files", 10, "files per job")
	base := flag.String("url", "http://127.0.0.1:9/queue", "remote names start with this")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "ferry-queue"), "local names are in this directory (created)")
	par := flag.Int("parallel", 64, "jobs created at once")
	flag.Parse()
	if err := run(*jobs, *files, *base, *dir, *par); err != nil {
		fmt.Fprintln(os.Stderr, "queuegen:", err)
		os.Exit(1)
	}
}

func run(jobs, files int, base, dir string, par int) error {
	h, err := home.Resolve()
	if err != nil {
		return err
	}
	if err := h.Ensure(); err != nil {
		return err
	}
	lock, err := h.Lock()
	if err != nil {
		return err
	}
	defer lock.Release()
	st, err := store.Open(h.DB())
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := engine.New(engine.Config{Store: st, Owner: home.Owner(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Drivers: []transfer.Driver{transfer.NewHTTP(transfer.HTTPConfig{}), transfer.NewFile()}})
	if err != nil {
		return err
	}
	defer m.Close()
	// BITS' limits (60 jobs a user, 200 files a job) are settings.
	for k, v := range map[string]int{engine.KeyMaxJobsPerUser: jobs, engine.KeyMaxJobsPerMachine: jobs, engine.KeyMaxFilesPerJob: files} {
		if err := m.SetSetting(k, fmt.Sprint(max(v, 1))); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, par)
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(jobs) {
					return
				}
				in, err := m.CreateJob(fmt.Sprintf("queue job %d", i), bits.TypeDownload)
				if err != nil {
					errs <- err
					return
				}
				if i == 0 {
					fmt.Println(in.ID) // for the caller's commands
				}
				specs := make([]engine.FileSpec, files)
				for f := range specs {
					specs[f] = engine.FileSpec{
						RemoteName: fmt.Sprintf("%s/%06d/file-%03d.bin", base, i, f),
						LocalName:  filepath.Join(dir, fmt.Sprintf("%06d-file-%03d.bin", i, f)),
					}
				}
				if err := m.AddFileSet(in.ID, specs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

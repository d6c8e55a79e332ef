//go:build unix

package cli_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/backend/internal/testenv"
)

// HIGH_PERFORMANCE: BITS' refusals; files written in place, with no
// temporary file; a clean restart keeps the files done and continues the
// one under way; a name that exists is never overwritten; cancel removes
// only the files Ferry created.
func TestHighPerformanceAgainstNginx(t *testing.T) {
	e := newEnv(t)
	a, b := randomBytes(t, 300<<10), randomBytes(t, 70<<10)
	base := testenv.Nginx(t, docroot(t, map[string][]byte{"a.bin": a, "b.bin": b}))

	// The last file is served slowly the first time (it is still under way
	// when the engine stops); later with ranges.
	slow := randomBytes(t, 512<<10)
	var hits atomic.Int64
	var resumedAt atomic.Value // the Range of the request after the restart
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Content-Length", "524288")
			w.Header().Set("Accept-Ranges", "bytes")
			// A trickle after the first bytes, so that the engine's
			// checkpoints (due on writes) come while the file is under way.
			off := 200 << 10
			w.Write(slow[:off])
			for ; off < len(slow)-1024; off += 1024 {
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
				w.Write(slow[off : off+1024])
			}
			<-r.Context().Done()
			return
		}
		if hits.Load() == 2 {
			resumedAt.Store(r.Header.Get("Range"))
		}
		http.ServeContent(w, r, "slow", time.Unix(1700000000, 0), bytes.NewReader(slow))
	}))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })

	id := create(e, "hp")
	if got := e.ok("getproperty", id, "HIGH_PERFORMANCE"); got != "false\n" {
		t.Fatalf("default HIGH_PERFORMANCE %q", got)
	}
	e.fails("E_INVALIDARG", "setproperty", id, "HIGH_PERFORMANCE", "maybe")
	e.ok("setproperty", id, "HIGH_PERFORMANCE", "true")
	if got := e.ok("getproperty", id, "HIGH_PERFORMANCE"); got != "true\n" {
		t.Fatalf("HIGH_PERFORMANCE %q after setproperty true", got)
	}
	la, lb, ls := filepath.Join(e.dir, "a.bin"), filepath.Join(e.dir, "b.bin"), filepath.Join(e.dir, "slow.bin")
	e.ok("addfile", id, base+"/a.bin", la)
	e.fails("BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE", "setproperty", id, "HIGH_PERFORMANCE", "false")
	e.ok("addfile", id, base+"/b.bin", lb)
	e.ok("addfile", id, srv.URL+"/slow", ls)
	up := strings.TrimSpace(e.ok("create", "--upload", "up"))
	e.fails("BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY", "setproperty", up, "HIGH_PERFORMANCE", "true")

	e.ok("resume", id)
	waitFor(t, 20*time.Second, "two files transferred and the third under way", func() bool {
		return e.ok("getfilestransferred", id) == "2\n" && hits.Load() >= 1
	})
	// Written in place: the files are at their names, and no .tmp exists.
	for p, want := range map[string][]byte{la: a, lb: b} {
		if !bytes.Equal(mustRead(t, p), want) {
			t.Fatalf("%s differs before Complete", p)
		}
	}
	if got := e.ok("gettemporaryname", id, "2"); got != "none\n" {
		t.Fatalf("gettemporaryname of a HIGH_PERFORMANCE file = %q", got)
	}
	noTemps(t, e.dir)

	// A clean restart: the files done stay done, the third continues.
	e.stopEngine()
	// The engine that answers goes on at once with the file under way, and
	// may finish it before it answers: 2 or 3, never fewer.
	if got := e.ok("getfilestransferred", id); got != "2\n" && got != "3\n" {
		t.Fatalf("files transferred after a restart: %q", got)
	}
	e.ok("resume", id)
	e.waitFor(id, "TRANSFERRED")
	// A clean stop records where the file under way got to: it goes on
	// from there (only a crash sends it back to byte 0).
	if rg, _ := resumedAt.Load().(string); !strings.HasPrefix(rg, "bytes=") || strings.HasPrefix(rg, "bytes=0-") {
		t.Fatalf("after the restart the third file was asked for with Range %q, want one past byte 0", rg)
	}
	e.ok("complete", id)
	for p, want := range map[string][]byte{la: a, lb: b, ls: slow} {
		if !bytes.Equal(mustRead(t, p), want) {
			t.Fatalf("%s differs after Complete", p)
		}
	}
	noTemps(t, e.dir)

	// A name that exists is never overwritten: the job errs, the file stays.
	mine := e.writeFile("mine.bin", []byte("the user's own"), 0o644)
	id2 := create(e, "exists")
	e.ok("setproperty", id2, "HIGH_PERFORMANCE", "true")
	e.ok("addfile", id2, base+"/a.bin", mine)
	e.ok("resume", id2)
	e.waitFor(id2, "ERROR")
	if got := e.ok("geterror", id2); !strings.Contains(got, "E_ACCESSDENIED") || !strings.Contains(got, "already exists") {
		t.Fatalf("geterror: %s", got)
	}
	e.ok("cancel", id2)
	if string(mustRead(t, mine)) != "the user's own" {
		t.Fatal("a HIGH_PERFORMANCE job touched a file it did not create")
	}

	// Cancel removes a file Ferry created in place.
	id3 := create(e, "cancelled")
	e.ok("setproperty", id3, "HIGH_PERFORMANCE", "true")
	lc := filepath.Join(e.dir, "c.bin")
	e.ok("addfile", id3, base+"/a.bin", lc)
	e.ok("resume", id3)
	e.waitFor(id3, "TRANSFERRED")
	if !bytes.Equal(mustRead(t, lc), a) {
		t.Fatal("c.bin differs")
	}
	e.ok("cancel", id3)
	if _, err := os.Stat(lc); !os.IsNotExist(err) {
		t.Fatalf("cancel left the file Ferry created: %v", err)
	}
}

func noTemps(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range ents {
		if strings.HasSuffix(de.Name(), ".tmp") {
			t.Fatalf("a HIGH_PERFORMANCE job made the temporary file %s", de.Name())
		}
	}
}

//go:build unix

package cli_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ferry/backend/internal/testenv"
	"ferry/backend/internal/testsrv"
)

// ddExtract is `dd` reading LENGTH bytes at OFFSET (-1: to the end).
func ddExtract(t *testing.T, file string, off, length int64) []byte {
	t.Helper()
	args := []string{"if=" + file, "bs=65536", "iflag=skip_bytes,count_bytes", fmt.Sprintf("skip=%d", off), "status=none"}
	if length >= 0 {
		args = append(args, fmt.Sprintf("count=%d", length))
	}
	out, err := exec.Command("dd", args...).Output()
	if err != nil {
		t.Fatalf("dd %v: %v", args, err)
	}
	return out
}

// AddFileWithRanges against nginx: the ranges, in the order given, back to
// back, byte for byte what dd extracts; progress counts the bytes asked for.
func TestAddFileWithRangesAgainstNginx(t *testing.T) {
	e := newEnv(t)
	const size = 1 << 20
	root := docroot(t, map[string][]byte{"r.bin": randomBytes(t, size)})
	base := testenv.Nginx(t, root)
	src := filepath.Join(root, "r.bin")
	local := filepath.Join(e.dir, "parts.bin")

	id := create(e, "ranges")
	e.ok("addfilewithranges", id, base+"/r.bin", local, "524288:4096,100:1000,1040000:eof")
	var files []struct {
		BytesTotal       int64 `json:"bytesTotal"`
		BytesTransferred int64 `json:"bytesTransferred"`
		Ranges           []struct {
			Offset int64 `json:"offset"`
			Length int64 `json:"length"`
		} `json:"ranges"`
	}
	e.okJSON(&files, "listfiles", id)
	if len(files) != 1 || len(files[0].Ranges) != 3 || files[0].Ranges[1].Offset != 100 || files[0].Ranges[2].Length != -1 {
		t.Fatalf("listfiles ranges: %+v", files)
	}
	e.ok("resume", id)
	e.waitFor(id, "TRANSFERRED")
	e.okJSON(&files, "listfiles", id)
	want := int64(4096 + 1000 + size - 1040000)
	if files[0].BytesTotal != want || files[0].BytesTransferred != want {
		t.Fatalf("progress %d/%d, want the %d bytes asked for", files[0].BytesTransferred, files[0].BytesTotal, want)
	}
	e.ok("complete", id)
	var exp []byte
	exp = append(exp, ddExtract(t, src, 524288, 4096)...)
	exp = append(exp, ddExtract(t, src, 100, 1000)...)
	exp = append(exp, ddExtract(t, src, 1040000, -1)...)
	if got := mustRead(t, local); !bytes.Equal(got, exp) {
		t.Fatalf("the local file (%d bytes) is not the dd extracts back to back (%d bytes)", len(got), len(exp))
	}

	// Refusals, each with its BITS name; nothing is added.
	id2 := create(e, "refusals")
	other := filepath.Join(e.dir, "other.bin")
	e.fails("BG_E_INVALID_RANGE", "addfilewithranges", id2, base+"/r.bin", other, "eof:10")
	e.fails("BG_E_INVALID_RANGE", "addfilewithranges", id2, base+"/r.bin", other, "0:0")
	e.fails("BG_E_OVERLAPPING_RANGES", "addfilewithranges", id2, base+"/r.bin", other, "0:10,5:10")
	e.fails("BG_E_OVERLAPPING_RANGES", "addfilewithranges", id2, base+"/r.bin", other, "10:5,10:3")
	e.fails("BG_E_OVERLAPPING_RANGES", "addfilewithranges", id2, base+"/r.bin", other, "0:eof,100:10")
	e.ok("config", "set", "maxRangesPerFile", "2")
	e.fails("BG_E_TOO_MANY_RANGES_IN_FILE", "addfilewithranges", id2, base+"/r.bin", other, "0:1,10:1,20:1")
	e.ok("config", "set", "maxRangesPerFile", "500")
	e.fails("E_INVALIDARG", "addfilewithranges", id2, "file://"+src, other, "0:10")
	up := strings.TrimSpace(e.ok("create", "--upload", "up"))
	e.fails("E_NOTIMPL", "addfilewithranges", up, base+"/r.bin", other, "0:10")
	e.ok("setdynamic", id2, "true")
	e.fails("E_INVALIDARG", "addfilewithranges", id2, base+"/r.bin", other, "0:10")
	if n := strings.TrimSpace(e.ok("getfilestotal", id2)); n != "0" {
		t.Fatalf("a refused addfilewithranges added %s file(s)", n)
	}

	// At run time a range outside the remote file is ERROR BG_E_INVALID_RANGE.
	for i, rs := range []string{"2000000:10", "0:10,1048570:100"} {
		j := create(e, fmt.Sprint("outside", i))
		e.ok("addfilewithranges", j, base+"/r.bin", filepath.Join(e.dir, fmt.Sprint("out", i)), rs)
		e.ok("resume", j)
		e.waitFor(j, "ERROR")
		if g := e.ok("geterror", j); !strings.Contains(g, "BG_E_INVALID_RANGE") {
			t.Fatalf("ranges %s: %s", rs, g)
		}
	}
}

// A server that answers a multi-range request with one merged range is
// ERROR BG_E_INVALID_SERVER_RESPONSE, and not a byte of it is written.
func TestAddFileWithRangesMergedByServer(t *testing.T) {
	e := newEnv(t)
	srv := testsrv.New(t)
	srv.Handle("/m", testsrv.File{Size: 100000, MergeRanges: true})
	id := create(e, "merged")
	e.ok("addfilewithranges", id, srv.URL("/m"), filepath.Join(e.dir, "m"), "0:10,5000:10")
	e.ok("resume", id)
	e.waitFor(id, "ERROR")
	if g := e.ok("geterror", id); !strings.Contains(g, "BG_E_INVALID_SERVER_RESPONSE") {
		t.Fatalf("geterror: %s", g)
	}
	reqs := srv.Requests("/m")
	if len(reqs) == 0 || reqs[0].Range != "bytes=0-9,5000-5009" {
		t.Fatalf("requests: %+v", reqs)
	}
	var files []map[string]any
	e.okJSON(&files, "listfiles", id)
	if files[0]["bytesTransferred"] != float64(0) {
		t.Fatalf("progress after a merged reply: %v", files[0])
	}
	if tmp := strings.TrimSpace(e.ok("gettemporaryname", id, "0")); tmp != "none" {
		st, err := os.Stat(tmp)
		if err != nil || st.Size() != 0 {
			t.Fatalf("the temporary file %s after a merged reply: %v, %v", tmp, st, err)
		}
	}
}

// A connection cut in the middle of a range goes on from the bytes held
// (If-Range), and the end is the very bytes asked for.
func TestAddFileWithRangesResumesAfterACut(t *testing.T) {
	e := newEnv(t)
	srv := testsrv.New(t)
	srv.Handle("/c", testsrv.File{Size: 300000, CutAfter: 100000}) // every GET: the probe too (1 byte)
	id := create(e, "cut")
	local := filepath.Join(e.dir, "c")
	e.ok("addfilewithranges", id, srv.URL("/c"), local, "1000:eof")
	e.ok("resume", id)
	e.waitFor(id, "TRANSFERRED")
	e.ok("complete", id)
	if got := mustRead(t, local); !bytes.Equal(got, srv.Body("/c")[1000:]) {
		t.Fatalf("%d bytes, not the range asked for", len(got))
	}
	var resumed bool
	for _, r := range srv.Requests("/c") {
		if strings.HasPrefix(r.Range, "bytes=") && r.Range != "bytes=0-0" && r.Range != "bytes=1000-299999" && r.IfRange != "" {
			resumed = true
		}
	}
	if !resumed {
		t.Fatalf("no resumed request after the cut: %+v", srv.Requests("/c"))
	}
}

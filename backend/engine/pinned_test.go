//go:build !windows

package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// victimFile is someone else's file, which no swap may make Ferry write.
func victimFile(t *testing.T, path string) []byte {
	t.Helper()
	body := []byte(strings.Repeat("the user's own text, not Ferry's\n", 470)) // ~15 KB
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	return body
}

func sameContent(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s was changed (%d bytes, was %d)", path, len(got), len(want))
	}
}

// suspendedMidway starts a 4 MiB download that stalls after 1 MiB, then
// suspends it with bytes recorded, and returns the job and its file record.
func suspendedMidway(t *testing.T, h *harness, srv *testsrv.Server, local string) (string, bits.File) {
	t.Helper()
	srv.Handle("/big", testsrv.File{Size: 4 << 20, StallAfter: 1 << 20})
	id := h.job("swap", srv.URL("/big"), local)
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferring)
	for deadline := time.Now().Add(20 * time.Second); h.info(id).Progress.BytesTransferred == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no byte arrived")
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.must(h.m.Suspend(id))
	// Suspend returns once the state is recorded; the transfer's last
	// checkpoint follows.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		h.m.mu.Lock()
		e := h.m.jobs[id]
		f, stopped := e.job.Files[0], e.worker == nil
		h.m.mu.Unlock()
		if stopped && f.BytesTransferred > 0 && f.TempID != "" && f.DirID != "" {
			return id, f
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress or identity recorded: %+v", f)
		}
	}
}

// The reproduction: the temporary file of a suspended download is
// replaced by a symbolic link (or a hard link) to another file. Resume must
// not empty or write that file; the download starts again under a new name
// and ends with the right bytes.
func TestSwappedTempFileIsNeverWrittenThrough(t *testing.T) {
	for _, kind := range []string{"symlink", "hardlink"} {
		t.Run(kind, func(t *testing.T) {
			srv := testsrv.New(t)
			h := newHarness(t, slowStall)
			local := h.path("big.bin")
			victim := h.path("victim.txt")
			want := victimFile(t, victim)
			id, f := suspendedMidway(t, h, srv, local)
			h.must(os.Remove(f.TempName))
			if kind == "symlink" {
				h.must(os.Symlink(victim, f.TempName))
			} else {
				h.must(os.Link(victim, f.TempName))
			}
			srv.Update("/big", func(f *testsrv.File) { f.StallAfter = 0 })
			h.must(h.m.Resume(id))
			h.waitState(id, bits.StateTransferred)
			sameContent(t, victim, want)
			j, err := h.m.GetJob(id)
			h.must(err)
			if j.Files[0].TempName == f.TempName {
				t.Fatalf("the replaced temporary name %s is still the file's", f.TempName)
			}
			_, err = h.m.Complete(id)
			h.must(err)
			sameContent(t, local, srv.Body("/big"))
			sameContent(t, victim, want)
			// The planted name is not Ferry's: it is left as it was.
			if st, err := os.Lstat(f.TempName); err != nil || (kind == "symlink") != (st.Mode()&os.ModeSymlink != 0) {
				t.Fatalf("the planted %s was touched: %v %v", kind, st, err)
			}
		})
	}
}

// A restart reopens the temporary file by the same rule.
func TestSwappedTempFileAcrossRestart(t *testing.T) {
	srv := testsrv.New(t)
	h := newHarness(t, slowStall)
	local := h.path("big.bin")
	victim := h.path("victim.txt")
	want := victimFile(t, victim)
	id, f := suspendedMidway(t, h, srv, local)
	h.close()
	h.must(os.Remove(f.TempName))
	h.must(os.Symlink(victim, f.TempName))
	srv.Update("/big", func(f *testsrv.File) { f.StallAfter = 0 })
	h.open()
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	_, err := h.m.Complete(id)
	h.must(err)
	sameContent(t, victim, want)
	sameContent(t, local, srv.Body("/big"))
}

// A transferred file whose temporary file was replaced before Complete is
// not moved into place: Complete says so, the file is downloaded again, and
// the next Complete succeeds. The victim is never touched.
func TestCompleteRefusesAReplacedTempFile(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 5000})
	h := newHarness(t)
	local := h.path("f.bin")
	victim := h.path("victim.txt")
	want := victimFile(t, victim)
	id := h.job("c", srv.URL("/f"), local)
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	j, err := h.m.GetJob(id)
	h.must(err)
	temp := j.Files[0].TempName
	h.must(os.Remove(temp))
	h.must(os.Symlink(victim, temp))
	_, err = h.m.Complete(id)
	wantCode(t, err, bits.E_ACCESSDENIED)
	if _, err := os.Lstat(local); err == nil {
		t.Fatal("Complete moved something onto the local name")
	}
	sameContent(t, victim, want)
	h.waitState(id, bits.StateTransferred) // downloaded again
	_, err = h.m.Complete(id)
	h.must(err)
	sameContent(t, local, srv.Body("/f"))
	sameContent(t, victim, want)
}

// The job's directory replaced by a link after AddFile: Complete refuses
// and changes nothing in either directory; with the directory back, it works.
func TestCompleteRefusesAReplacedDirectory(t *testing.T) {
	h, srv, id, dl, other := twoDirs(t)
	victim := filepath.Join(other, "f.bin")
	want := victimFile(t, victim)
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	replaceByLink(h, dl, other)
	_, err := h.m.Complete(id)
	wantCode(t, err, bits.E_ACCESSDENIED)
	sameContent(t, victim, want)
	if s := h.info(id).State; s != bits.StateTransferred {
		t.Fatalf("state %s after a refused Complete", s)
	}
	// Nothing of Ferry's went into the linked directory either.
	if m, _ := filepath.Glob(filepath.Join(other, ".BIT*")); len(m) != 0 {
		t.Fatalf("temporary files in the linked directory: %v", m)
	}
	h.must(os.Remove(dl))
	h.must(os.Rename(dl+".real", dl))
	_, err = h.m.Complete(id)
	h.must(err)
	sameContent(t, filepath.Join(dl, "f.bin"), srv.Body("/f"))
	sameContent(t, victim, want)
}

// A directory replaced before the transfer starts: the job fails with
// E_ACCESSDENIED and writes nothing into the linked directory.
func TestDownloadRefusesAReplacedDirectory(t *testing.T) {
	h, _, id, dl, other := twoDirs(t)
	replaceByLink(h, dl, other)
	h.must(h.m.Resume(id))
	in := h.waitState(id, bits.StateError)
	if in.Error == nil || in.Error.Code != bits.E_ACCESSDENIED {
		t.Fatalf("error %+v", in.Error)
	}
	if ents, _ := os.ReadDir(other); len(ents) != 0 {
		t.Fatalf("Ferry wrote into the linked directory: %v", ents)
	}
	_, err := h.m.Cancel(id)
	h.must(err)
	if ents, _ := os.ReadDir(other); len(ents) != 0 {
		t.Fatalf("Cancel touched the linked directory: %v", ents)
	}
}

// twoDirs makes a job's directory dl, another directory other, and a job
// that downloads the server's /f (5000 bytes) into dl.
func twoDirs(t *testing.T) (h *harness, srv *testsrv.Server, id, dl, other string) {
	t.Helper()
	srv = testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 5000})
	h = newHarness(t)
	dl, other = h.path("dl"), h.path("other")
	h.must(os.Mkdir(dl, 0o755))
	h.must(os.Mkdir(other, 0o755))
	id = h.job("d", srv.URL("/f"), filepath.Join(dl, "f.bin"))
	return h, srv, id, dl, other
}

// replaceByLink moves dl aside (to dl.real) and puts a link to other in
// its place.
func replaceByLink(h *harness, dl, other string) {
	h.must(os.Rename(dl, dl+".real"))
	h.must(os.Symlink(other, dl))
}

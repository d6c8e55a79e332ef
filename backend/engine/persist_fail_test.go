package engine

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"ferry/backend/internal/testenv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// testBox is a real AES-GCM SecretBox with a key made for the test.
type testBox struct{ aead cipher.AEAD }

func newTestBox(t *testing.T) *testBox {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	return &testBox{g}
}

func (b *testBox) Seal(p, ad []byte) ([]byte, error) {
	n := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(n); err != nil {
		return nil, err
	}
	return b.aead.Seal(n, n, p, ad), nil
}

func (b *testBox) Open(s, ad []byte) ([]byte, error) {
	k := b.aead.NonceSize()
	if len(s) < k {
		return nil, errors.New("short")
	}
	return b.aead.Open(nil, s[:k], s[k:], ad)
}

// record is everything of a job that a restart must find as it was.
func record(t *testing.T, h *harness, id string) bits.Job {
	t.Helper()
	j, err := h.m.GetJob(id)
	h.must(err)
	return *j
}

// TestFailedWritesChangeNothing: with every store write failing, each
// operation returns ERROR_DISK_FULL and the job stays exactly as a restart
// finds it.
func TestFailedWritesChangeNothing(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 5000})
	box := newTestBox(t)
	h := newHarness(t, func(c *Config) { c.Secrets = box })
	id := h.job("before", srv.URL("/f"), h.path("f"))
	h.must(h.m.SetDescription(id, "kept"))
	done := h.job("done", srv.URL("/f"), h.path("done"))
	h.must(h.m.SetPriority(done, bits.PriorityForeground))
	h.must(h.m.Resume(done))
	h.waitState(done, bits.StateTransferred)
	before := record(t, h, id)
	beforeDone := record(t, h, done)
	settings := h.m.Settings()

	h.st.SetWriteFault(func() error { return fmt.Errorf("write: %w", syscall.ENOSPC) })
	ops := map[string]error{
		"setdescription": h.m.SetDescription(id, "lost"),
		"setdisplayname": h.m.SetDisplayName(id, "lost"),
		"setpriority":    h.m.SetPriority(id, bits.PriorityHigh),
		"setnotifyflags": h.m.SetNotifyFlags(id, 1),
		"setproxy":       h.m.SetProxySettings(id, bits.ProxyNoProxy, "", ""),
		"setcredentials": h.m.SetCredentials(id, bits.Credential{Target: bits.AuthTargetServer, Scheme: bits.AuthBasic, UserName: "u", Password: "p"}),
		"setheaders":     h.m.SetCustomHeaders(id, "X-A: 1"),
		"addfile":        h.m.AddFile(id, FileSpec{RemoteName: srv.URL("/f"), LocalName: h.path("g")}),
		"resume":         h.m.Resume(id),
		"takeownership":  h.m.TakeOwnership(id),
		"config set":     h.m.SetSetting(KeyTimeSlice, "7"),
	}
	_, ops["cancel"] = h.m.Cancel(id)
	_, ops["complete"] = h.m.Complete(done)
	_, ops["create"] = h.m.CreateJob("new", bits.TypeDownload)
	for name, err := range ops {
		if bits.CodeOf(err) != bits.ERROR_DISK_FULL {
			t.Errorf("%s: got %v, want ERROR_DISK_FULL", name, err)
		}
	}
	if got := record(t, h, id); !reflect.DeepEqual(got, before) {
		t.Fatalf("a failed write changed the job in memory:\nbefore %+v\nafter  %+v", before, got)
	}
	if _, err := os.Stat(h.path("done")); err == nil {
		t.Fatal("a Complete whose record failed left the file in place without saying so")
	}
	if n := len(h.m.List(false, false)); n != 2 {
		t.Fatalf("%d jobs: a failed create added one", n)
	}

	h.st.SetWriteFault(nil)
	h.restart()
	after := record(t, h, id)
	after.ModificationTime, before.ModificationTime = after.ModificationTime.UTC(), before.ModificationTime.UTC()
	after.CreationTime, before.CreationTime = after.CreationTime.UTC(), before.CreationTime.UTC()
	if after.Description != "kept" || after.DisplayName != "before" || after.Priority != before.Priority ||
		after.State != bits.StateSuspended || len(after.Files) != 1 || len(after.Credentials) != 0 || after.CustomHeaders != "" {
		t.Fatalf("after a restart the job is not as it was:\nbefore %+v\nafter  %+v", before, after)
	}
	if got := record(t, h, done); got.State != bits.StateTransferred || got.Files[0].Committed != beforeDone.Files[0].Committed {
		t.Fatalf("completed job after restart: %+v", got)
	}
	if h.m.Settings()[KeyTimeSlice] != settings[KeyTimeSlice] {
		t.Fatal("a setting whose write failed was kept")
	}
	// And the same operations work once the disk has room again.
	h.must(h.m.SetDescription(id, "now"))
	_, err := h.m.Complete(done)
	h.must(err)
	if fileSHA(t, h.path("done")) == "" {
		t.Fatal("no file")
	}
}

// TestFullDiskReportsEveryFailure puts FERRY_HOME's database on a real,
// tiny tmpfs and fills it: every setdescription either fails with
// ERROR_DISK_FULL or survives a restart; the last one that succeeded is
// the one a restart finds.
func TestFullDiskReportsEveryFailure(t *testing.T) {
	testenv.Need(t, os.Geteuid() == 0, "mounting a tmpfs needs root (CI runs as root)")
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	h := newHarness(t, func(c *Config) {})
	h.close()
	h.db = filepath.Join(mnt, "ferry.db")
	h.open()
	id := h.job("full", "http://127.0.0.1:9/x", h.path("x"))
	h.must(h.m.SetDescription(id, "before the disk filled"))

	// Fill the file system.
	filler, err := os.Create(filepath.Join(mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := filler.Write(chunk); err != nil {
			break
		}
	}
	filler.Close()

	lastOK := "before the disk filled"
	failed := 0
	for i := range 150 {
		text := fmt.Sprintf("description %d %s", i, strings.Repeat("x", 900))
		err := h.m.SetDescription(id, text)
		switch code := bits.CodeOf(err); code {
		case bits.S_OK:
			lastOK = text
		case bits.ERROR_DISK_FULL:
			failed++
		default:
			t.Fatalf("call %d: %v, want success or ERROR_DISK_FULL", i, err)
		}
	}
	if failed == 0 {
		t.Fatal("no write failed on a full disk")
	}
	if got := h.info(id).Description; got != lastOK {
		t.Fatalf("memory holds %.30q, the last recorded change was %.30q", got, lastOK)
	}
	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	h.restart()
	if got := h.info(id).Description; got != lastOK {
		t.Fatalf("after a restart the description is %.30q, the last reported success was %.30q", got, lastOK)
	}
	t.Logf("%d of 150 writes failed with ERROR_DISK_FULL on the full disk", failed)
}

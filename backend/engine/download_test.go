package engine

import (
	"os"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
	"ferry/backend/transfer"
)

func TestDownloadCompleteCycle(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/a.bin", testsrv.File{Size: 3<<20 + 17})
	srv.Handle("/b.bin", testsrv.File{Size: 1000})
	h := newHarness(t)
	id := h.job("two", srv.URL("/a.bin"), h.path("a.bin"), srv.URL("/b.bin"), h.path("b.bin"))
	h.must(h.m.Resume(id))
	in := h.waitState(id, bits.StateTransferred)
	if in.Progress.FilesTransferred != 2 || in.Progress.BytesTotal != 3<<20+17+1000 || in.Progress.BytesTransferred != in.Progress.BytesTotal {
		t.Fatalf("progress %+v", in.Progress)
	}
	if in.Times.TransferCompletionTime == nil {
		t.Fatal("no completion time")
	}
	// Until Complete, the final names do not exist.
	if _, err := os.Stat(h.path("a.bin")); !os.IsNotExist(err) {
		t.Fatalf("a.bin exists before Complete: %v", err)
	}
	if n := len(tempFiles(t, h.dir)); n != 2 {
		t.Fatalf("%d temporary files, want 2", n)
	}
	res, err := h.m.Complete(id)
	h.must(err)
	if res != bits.S_OK {
		t.Fatalf("Complete = %s", res.Name())
	}
	if fileSHA(t, h.path("a.bin")) != sha(srv.Body("/a.bin")) || fileSHA(t, h.path("b.bin")) != sha(srv.Body("/b.bin")) {
		t.Fatal("content differs")
	}
	if n := len(tempFiles(t, h.dir)); n != 0 {
		t.Fatalf("%d temporary files left", n)
	}
	if in := h.info(id); in.State != bits.StateAcknowledged {
		t.Fatalf("state %s", in.State)
	}
	if l := h.m.List(false, false); len(l) != 0 {
		t.Fatalf("final job still listed: %+v", l)
	}
	wantCode(t, h.m.Suspend(id), bits.BG_E_INVALID_STATE)
	// Purged after the retention time.
	h.advance(10 * time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := h.m.Info(id)
		if bits.CodeOf(err) == bits.BG_E_NOT_FOUND {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not purged: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A job with CONNECTIONS 8 downloads one file over eight connections
// byte for byte, and info shows the connections in use meanwhile.
func TestDownloadInSegments(t *testing.T) {
	srv := testsrv.New(t)
	const size = 12 << 20
	srv.Handle("/f", testsrv.File{Size: size, RateLimit: 2 << 20})
	h := newHarness(t, func(c *Config) {
		c.Drivers = []transfer.Driver{transfer.NewHTTP(transfer.HTTPConfig{StallTimeout: 15 * time.Second})}
	})
	id := h.job("seg", srv.URL("/f"), h.path("f.bin"))
	h.must(h.m.SetProperty(id, "CONNECTIONS", "8"))
	h.must(h.m.Resume(id))
	most := 0
	deadline := time.Now().Add(30 * time.Second)
	for {
		in := h.info(id)
		most = max(most, in.ConnectionsInUse)
		if in.State == bits.StateTransferred {
			if in.ConnectionsInUse != 0 {
				t.Fatalf("TRANSFERRED with %d connections in use", in.ConnectionsInUse)
			}
			break
		}
		if time.Now().After(deadline) || in.State == bits.StateError {
			t.Fatalf("state %s, error %+v", in.State, in.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if most < 2 {
		t.Fatalf("info showed at most %d connections in use", most)
	}
	_, err := h.m.Complete(id)
	h.must(err)
	if fileSHA(t, h.path("f.bin")) != sha(srv.Body("/f")) {
		t.Fatal("content differs")
	}
	if n := srv.Conns(); n < 8 {
		t.Fatalf("%d connections, want 8", n)
	}
}

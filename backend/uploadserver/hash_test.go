package uploadserver_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/uploadserver"
)

// The SHA-256 handed to the reply is computed while the fragments arrive,
// and its state is part of the session's record: a fragment cut short does
// not enter it, and a restarted server carries on from the record rather
// than reading the received bytes again.
func TestReplyHashFollowsFragmentsCutsAndRestarts(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var sums []string
	reply := func(ctx context.Context, u uploadserver.Upload) ([]byte, string, error) {
		mu.Lock()
		sums = append(sums, u.SHA256)
		mu.Unlock()
		return uploadserver.DefaultReply(ctx, u)
	}
	cfg := uploadserver.Config{Dir: dir, Reply: reply, BodyTimeout: 300 * time.Millisecond, MinBodyRate: 1000}
	e := newEnv(t, cfg)
	data := []byte(strings.Repeat("0123456789abcdef", 4096)) // 64 KiB
	total := int64(len(data))
	sid := e.create("/h.bin")
	if r := e.fragment("/h.bin", sid, data[:20000], 0, total); r.status != 200 {
		t.Fatalf("fragment 1: %d %v", r.status, r.h)
	}
	// A fragment whose body stops after a few bytes (other than the data's).
	c := rawConn(t, e.hs.Listener.Addr().String(), "BITS_POST /h.bin HTTP/1.1\r\nHost: x\r\nBITS-Packet-Type: Fragment\r\nBITS-Session-Id: "+sid+
		"\r\nContent-Range: bytes 20000-29999/65536\r\nContent-Length: 10000\r\n\r\nXXXXXXXX")
	if !closedWithin(c, 10*time.Second) {
		t.Fatal("the stalled fragment's connection is still open")
	}
	// The record holds the hash state of the acknowledged bytes.
	var rec []byte
	entries, _ := os.ReadDir(filepath.Join(dir, uploadserver.StateDirName))
	for _, en := range entries {
		if strings.HasSuffix(en.Name(), ".json") {
			rec, _ = os.ReadFile(filepath.Join(dir, uploadserver.StateDirName, en.Name()))
		}
	}
	if !strings.Contains(string(rec), `"sha256State"`) {
		t.Fatalf("the session record carries no hash state: %s", rec)
	}
	e.hs.Close()
	e.srv.Close()

	e = newEnv(t, cfg)
	if r := e.fragment("/h.bin", sid, data[20000:40000], 20000, total); r.status != 200 || r.get("BITS-Received-Content-Range") != "40000" {
		t.Fatalf("fragment 2 after the restart: %d %v", r.status, r.h)
	}
	// An overlapping resend: the bytes already held are not hashed twice.
	if r := e.fragment("/h.bin", sid, data[30000:], 30000, total); r.status != 200 || r.get("BITS-Received-Content-Range") != "65536" {
		t.Fatalf("last fragment: %d %v", r.status, r.h)
	}
	want := sha256.Sum256(data)
	mu.Lock()
	defer mu.Unlock()
	if len(sums) != 1 || sums[0] != hex.EncodeToString(want[:]) {
		t.Fatalf("reply SHA-256 %v, want %x", sums, want)
	}
	if string(e.stored("h.bin")) != string(data) {
		t.Fatal("stored bytes differ")
	}
}

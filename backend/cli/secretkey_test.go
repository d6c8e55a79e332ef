//go:build unix

package cli_test

import (
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// authServer serves "secret content" to alice alone and counts requests.
func authServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var reqs atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "wonder land" {
			w.Header().Set("WWW-Authenticate", `Basic realm="t"`)
			http.Error(w, "who?", http.StatusUnauthorized)
			return
		}
		http.ServeContent(w, r, "f", time.Unix(1700000000, 0), strings.NewReader("secret content"))
	}))
	t.Cleanup(srv.Close)
	return srv, &reqs
}

func noKeyFile(t *testing.T, path, when string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s: a secret key was made (%v) while sealed credentials exist", when, err)
	}
}

// Issue 14: a deleted secret.key used to be replaced by a new one at the
// next start, the credentials sealed with the old one were silently lost
// (only the log said so) and the job failed later with a 401. Now no key is
// made while sealed secrets exist, list/info say so, the job fails with
// NTE_BAD_KEYSET without sending a request, and the restored key opens the
// credentials again.
func TestMissingSecretKeyIsReportedNotReplaced(t *testing.T) {
	e := newEnv(t)
	srv, reqs := authServer(t)
	id := strings.TrimSpace(e.ok("create", "sealed"))
	e.ok("addfile", id, srv.URL+"/f", filepath.Join(e.dir, "f"))
	e.ok("setcredentials", id, "server", "basic", "alice", "wonder land")
	e.stopEngine()
	keyPath := filepath.Join(e.home, "secret.key")
	key := mustRead(t, keyPath)
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}

	r := e.run("list") // starts the engine without the key
	if r.code != 0 || !strings.Contains(r.stdout, id) {
		t.Fatalf("list\n%s", r)
	}
	if !strings.Contains(r.stderr, "ferry: 1 job holds credentials that cannot be opened") || !strings.Contains(r.stderr, keyPath+" is missing") {
		t.Fatalf("list does not report the missing key on stderr\n%s", r)
	}
	noKeyFile(t, keyPath, "after the engine started")
	if r := e.run("list", "--json"); r.code != 0 || !strings.HasPrefix(strings.TrimSpace(r.stdout), "[") || !strings.Contains(r.stderr, "cannot be opened") {
		t.Fatalf("list --json: stdout must stay the bare array, stderr must warn\n%s", r)
	}
	if r := e.run("info", id); r.code != 0 || !strings.Contains(r.stderr, "ferry: this job's credentials cannot be opened: the secret key "+keyPath+" is missing") {
		t.Fatalf("info does not report the missing key\n%s", r)
	}
	if out := e.ok("secrets"); !strings.Contains(out, keyPath+" (missing)") || !strings.Contains(out, id) {
		t.Fatalf("secrets:\n%s", out)
	}
	// Sealing anything new would need a new key: refused, still no key.
	e.fails("NTE_BAD_KEYSET", "setcredentials", id, "server", "basic", "alice", "wonder land")
	// The job does not send requests without its credentials: it stops in
	// ERROR with the reason.
	e.ok("resume", id)
	r = e.fails("NTE_BAD_KEYSET", "wait", id, "--timeout", "20")
	if !strings.Contains(r.stderr, "is missing") {
		t.Fatalf("the job's error does not say why\n%s", r)
	}
	if n := reqs.Load(); n != 0 {
		t.Fatalf("%d requests were sent without the job's credentials", n)
	}
	noKeyFile(t, keyPath, "after the job failed")

	// The key is back: the next engine opens the credentials again.
	e.stopEngine()
	if err := os.WriteFile(keyPath, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.run("list"); r.code != 0 || r.stderr != "" {
		t.Fatalf("list with the key restored\n%s", r)
	}
	if r := e.run("info", id); r.code != 0 || r.stderr != "" {
		t.Fatalf("info with the key restored\n%s", r)
	}
	e.ok("resume", id)
	if got := e.ok("wait", id, "--timeout", "20"); got != "TRANSFERRED\n" {
		t.Fatalf("wait %q", got)
	}
	e.ok("complete", id)
	if string(mustRead(t, filepath.Join(e.dir, "f"))) != "secret content" {
		t.Fatal("content differs")
	}
	if got := mustRead(t, keyPath); string(got) != string(key) {
		t.Fatal("the restored key was replaced")
	}
}

// `ferry secrets reset` is the way out when the key cannot be restored: the
// unopenable credentials are dropped (the job stays), a new key is made,
// and new credentials work.
func TestSecretsResetDropsUnopenableCredentials(t *testing.T) {
	e := newEnv(t)
	srv, _ := authServer(t)
	id := strings.TrimSpace(e.ok("create", "sealed"))
	e.ok("addfile", id, srv.URL+"/f", filepath.Join(e.dir, "f"))
	e.ok("setcredentials", id, "server", "basic", "alice", "wonder land")
	e.ok("setcustomheaders", id, "X-Plain: 1", "Cookie: session=1")
	e.stopEngine()
	keyPath := filepath.Join(e.home, "secret.key")
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	out := e.ok("secrets", "reset")
	if !strings.Contains(out, "2 sealed secrets of 1 jobs dropped") || !strings.Contains(out, "new secret key") {
		t.Fatalf("secrets reset:\n%s", out)
	}
	if st, err := os.Stat(keyPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("no new key after the reset: %v %v", st, err)
	}
	if r := e.run("list"); r.code != 0 || r.stderr != "" {
		t.Fatalf("list after the reset\n%s", r)
	}
	if got := strings.TrimSpace(e.ok("getcustomheaders", id)); got != "X-Plain: 1" {
		t.Fatalf("headers after the reset: %q (the plain line stays, the sealed one goes)", got)
	}
	e.ok("setcredentials", id, "server", "basic", "alice", "wonder land")
	e.ok("resume", id)
	if got := e.ok("wait", id, "--timeout", "20"); got != "TRANSFERRED\n" {
		t.Fatalf("wait %q", got)
	}
}

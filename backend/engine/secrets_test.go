package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// grepDir reports the files under dir that contain secret.
func grepDir(t *testing.T, dir, secret string) []string {
	t.Helper()
	var hits []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(secret)) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// A user name and password in a URL become the job's sealed server
// credentials: the URL shown and stored has none, the transfer still
// authenticates, and no file of the engine holds the password.
func TestURLPasswordBecomesSealedCredential(t *testing.T) {
	const pw = "S3cretPassW0rd"
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 3000})
	h := newHarness(t, func(c *Config) { c.Secrets = newTestBox(t) })
	in, err := h.m.CreateJob("url creds", bits.TypeDownload)
	h.must(err)
	id := in.ID
	withUser := strings.Replace(srv.URL("/f"), "http://", "http://alice:"+pw+"@", 1)
	h.must(h.m.AddFile(id, FileSpec{RemoteName: withUser, LocalName: h.path("f")}))
	info := h.info(id)
	if got := info.Files[0].RemoteName; got != srv.URL("/f") {
		t.Fatalf("remote name %q still carries the user info", got)
	}
	j, err := h.m.GetJob(id)
	h.must(err)
	if len(j.Credentials) != 2 || j.Credentials[0].UserName != "alice" {
		t.Fatalf("credentials %+v", j.Credentials)
	}
	// A second URL with other credentials is refused, and changes nothing.
	other := strings.Replace(srv.URL("/g"), "http://", "http://bob:x@", 1)
	wantCode(t, h.m.AddFile(id, FileSpec{RemoteName: other, LocalName: h.path("g")}), bits.E_INVALIDARG)
	wantCode(t, h.m.AddFile(id, FileSpec{RemoteName: "file://u:p@/etc/hosts", LocalName: h.path("h")}), bits.E_INVALIDARG)
	// Sensitive custom headers are sealed too.
	h.must(h.m.SetCustomHeaders(id, "X-Plain: visible\r\nAuthorization: Bearer Tok3nSecret"))

	h.restart()
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	reqs := srv.Requests("/f")
	var sawBasic, sawBearer bool
	for _, r := range reqs {
		if strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") {
			sawBasic = true
		}
		if r.Header.Get("Authorization") == "Bearer Tok3nSecret" {
			sawBearer = true
		}
	}
	if !sawBearer && !sawBasic {
		t.Fatalf("neither the URL's credentials nor the sealed header reached the server after a restart: %+v", reqs)
	}
	h.close()
	for _, secret := range []string{pw, "Tok3nSecret"} {
		if hits := grepDir(t, h.dir, secret); len(hits) > 0 {
			t.Fatalf("%q is stored in plain text in %v", secret, hits)
		}
	}
	if hits := grepDir(t, h.dir, "X-Plain"); len(hits) == 0 {
		t.Fatal("the test greps the wrong place: the plain header is not found either")
	}
}

// Only a regular file is ever replaced: a device, FIFO, socket, directory
// or symbolic link as LOCAL is refused at AddFile and again at Complete,
// and a replaced file keeps its permissions.
func TestLocalMustBeARegularFile(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 4000})
	h := newHarness(t)
	fifo := h.path("fifo")
	if err := mkfifo(fifo); err != nil {
		t.Fatal(err)
	}
	link := h.path("link")
	h.must(os.WriteFile(h.path("target"), []byte("keep"), 0o644))
	h.must(os.Symlink(h.path("target"), link))
	id := h.job("nodes")
	for _, local := range []string{fifo, link, h.dir, "/dev/null"} {
		wantCode(t, h.m.AddFile(id, FileSpec{RemoteName: srv.URL("/f"), LocalName: local}), bits.E_ACCESSDENIED)
	}
	if n := len(h.info(id).Files); n != 0 {
		t.Fatalf("%d files added", n)
	}

	// A private file is replaced and stays private.
	private := h.path("private")
	h.must(os.WriteFile(private, []byte("old"), 0o600))
	later := h.path("later")
	h.must(h.m.AddFile(id, FileSpec{RemoteName: srv.URL("/f"), LocalName: private}))
	h.must(h.m.AddFile(id, FileSpec{RemoteName: srv.URL("/f"), LocalName: later}))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	// A FIFO that appears after AddFile is refused by Complete, which
	// changes nothing.
	h.must(mkfifo(later))
	_, err := h.m.Complete(id)
	wantCode(t, err, bits.E_ACCESSDENIED)
	if st, err := os.Lstat(later); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was replaced: %v %v", st.Mode(), err)
	}
	if in := h.info(id); in.State != bits.StateTransferred {
		t.Fatalf("state %s after a refused Complete", in.State)
	}
	if b, _ := os.ReadFile(private); string(b) != "old" {
		t.Fatal("a refused Complete replaced another file of the job")
	}
	h.must(os.Remove(later))
	_, err = h.m.Complete(id)
	h.must(err)
	st, err := os.Stat(private)
	h.must(err)
	if st.Mode().Perm() != 0o600 || st.Size() != 4000 {
		t.Fatalf("replaced file: mode %v size %d, want 0600 and the new content", st.Mode().Perm(), st.Size())
	}
	if b, _ := os.ReadFile(h.path("target")); string(b) != "keep" {
		t.Fatal("a symlink's target was touched")
	}
}

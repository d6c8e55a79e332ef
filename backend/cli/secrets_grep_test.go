//go:build unix

package cli_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Credentials never appear in plain text: jobs with a server and a proxy
// password (setcredentials) and one with a password in its URL transfer
// (and one fails with 401), the engine restarts, and then every file of
// FERRY_HOME (the database, its WAL, the log), every JSON and text output
// of the commands that show jobs, and the stderr of every command are
// searched for the passwords: none holds them.
func TestCredentialsNeverInPlainText(t *testing.T) {
	const serverPW, proxyPW, urlPW = "pw-server-7Qx9Zk", "pw-proxy-M3vT8a", "pw-url-Lr5Yb2"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || (p != serverPW && p != urlPW) || u == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="t"`)
			http.Error(w, "who?", http.StatusUnauthorized)
			return
		}
		http.ServeContent(w, r, "f", time.Unix(1700000000, 0), bytes.NewReader([]byte("content")))
	}))
	defer srv.Close()
	e := newEnv(t)
	var outputs []string
	run := func(args ...string) string {
		t.Helper()
		r := e.run(args...)
		outputs = append(outputs, r.stdout, r.stderr)
		return r.stdout
	}
	id := strings.TrimSpace(run("create", "creds"))
	run("addfile", id, srv.URL+"/f", filepath.Join(e.dir, "f"))
	run("setcredentials", id, "server", "basic", "alice", serverPW)
	run("setcredentials", id, "proxy", "basic", "bob", proxyPW)
	run("setproxysettings", id, "override", "127.0.0.1:9", "127.0.0.1")
	id2 := strings.TrimSpace(run("create", "url-creds"))
	run("addfile", id2, strings.Replace(srv.URL, "http://", "http://carol:"+urlPW+"@", 1)+"/f", filepath.Join(e.dir, "f2"))
	id3 := strings.TrimSpace(run("create", "wrong"))
	run("addfile", id3, srv.URL+"/f", filepath.Join(e.dir, "f3"))
	run("setcredentials", id3, "server", "digest", "dave", "pw-wrong-Hk2")
	for _, j := range []string{id, id2, id3} {
		run("resume", j)
	}
	run("wait", id, "--timeout", "20")
	run("wait", id2, "--timeout", "20")
	run("wait", id3, "--timeout", "20")
	e.stopEngine() // the log flushed, the WAL checkpointed or not: both are searched
	for _, j := range []string{id, id2, id3} {
		run("info", j, "--json", "--verbose")
		run("info", j, "--verbose")
		run("listfiles", j, "--json")
		run("geterror", j)
		run("getproxylist", j)
	}
	run("list", "--json", "--verbose")
	run("list", "--verbose")
	for _, j := range []string{id, id2} {
		if got := strings.TrimSpace(run("getstate", j)); got != "TRANSFERRED" {
			t.Fatalf("job %s: %s (the credentials were not used)", j, got)
		}
	}
	secrets := []string{serverPW, proxyPW, urlPW, "pw-wrong-Hk2"}
	for _, o := range outputs {
		for _, s := range secrets {
			if strings.Contains(o, s) {
				t.Fatalf("a command printed the password %q:\n%s", s, o)
			}
		}
	}
	files := 0
	err := filepath.Walk(e.home, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds the password %q in plain text", p, s)
			}
		}
		return nil
	})
	if err != nil || files < 2 {
		t.Fatalf("searched %d files of FERRY_HOME: %v", files, err)
	}
}

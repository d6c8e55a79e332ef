package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testenv"
	"ferry/backend/internal/testsrv"
)

func TestRestartKeepsEveryJobAndState(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/ok", testsrv.File{Size: 2000})
	srv.Handle("/503", testsrv.File{Size: 10, Status: 503})
	srv.Handle("/404", testsrv.File{Size: 10, Status: 404})
	srv.Handle("/stall", testsrv.File{Size: 1 << 20, StallAfter: 5000})
	h := newHarness(t, slowStall)
	susp := h.job("suspended", srv.URL("/ok"), h.path("s"))
	h.must(h.m.SetDescription(susp, "kept"))
	h.must(h.m.SetNotifyFlags(susp, 0xB))
	h.must(h.m.SetProxySettings(susp, bits.ProxyOverride, "proxy.invalid:3128", "<local>"))
	done := h.job("done", srv.URL("/ok"), h.path("d"))
	h.must(h.m.SetPriority(done, bits.PriorityForeground))
	h.must(h.m.Resume(done))
	h.waitState(done, bits.StateTransferred)
	trans := h.job("transient", srv.URL("/503"), h.path("t"))
	h.must(h.m.SetPriority(trans, bits.PriorityForeground))
	h.must(h.m.Resume(trans))
	h.waitState(trans, bits.StateTransientError)
	fatal := h.job("fatal", srv.URL("/404"), h.path("e"))
	h.must(h.m.SetPriority(fatal, bits.PriorityForeground))
	h.must(h.m.Resume(fatal))
	h.waitState(fatal, bits.StateError)
	active := h.job("active", srv.URL("/stall"), h.path("a"))
	h.must(h.m.SetPriority(active, bits.PriorityForeground))
	h.must(h.m.Resume(active))
	h.waitState(active, bits.StateTransferring)
	before := map[string]bits.JobInfo{}
	for _, id := range []string{susp, done, trans, fatal} {
		before[id] = h.info(id)
	}

	srv.Update("/stall", func(f *testsrv.File) { f.StallAfter = 0 })
	h.restart()

	for id, b := range before {
		a := h.info(id)
		b.Times.ModificationTime, a.Times.ModificationTime = nil, nil
		if a.State != b.State || a.ErrorCount != b.ErrorCount || a.Description != b.Description || a.NotifyFlags != b.NotifyFlags ||
			a.Proxy != b.Proxy || a.Progress != b.Progress || (a.Error == nil) != (b.Error == nil) {
			t.Fatalf("job %s changed across restart:\nbefore %+v\nafter  %+v", b.DisplayName, b, a)
		}
	}
	// The interrupted transfer comes back by itself and finishes from where it was.
	h.waitState(active, bits.StateTransferred)
	// The transient job still waits for its retry delay, then retries.
	h.advance(601 * time.Second)
	in := h.waitState(trans, bits.StateTransientError)
	for in.ErrorCount < 2 {
		in = h.waitState(trans, bits.StateTransientError)
	}
	_, err := h.m.Complete(active)
	h.must(err)
	if fileSHA(t, h.path("a")) != sha(srv.Body("/stall")) {
		t.Fatal("content differs after restart")
	}
}

func TestRemoteChangeRestartsFileNeverSplices(t *testing.T) {
	srv := testsrv.New(t)
	// Cut once after 1 MiB; the content changes before the resume.
	srv.Handle("/f", testsrv.File{Size: 3 << 20, CutAfter: 1 << 20, CutOnce: true, ChangeAfter: 2})
	h := newHarness(t)
	id := h.job("change", srv.URL("/f"), h.path("f"))
	h.must(h.m.SetPriority(id, bits.PriorityForeground))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	_, err := h.m.Complete(id)
	h.must(err)
	if fileSHA(t, h.path("f")) != sha(srv.Body("/f")) {
		t.Fatal("the local file is not the current remote version")
	}
}

func TestDynamicContentAcceptsNoLengthNoRange(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/dyn", testsrv.File{Size: 70000, NoLength: true, NoRange: true})
	h := newHarness(t)
	plain := h.job("plain", srv.URL("/dyn"), h.path("plain"))
	h.must(h.m.Resume(plain))
	in := h.waitState(plain, bits.StateError)
	if in.Error.Name != "BG_E_MISSING_FILE_SIZE" {
		t.Fatalf("%+v", in.Error)
	}
	dyn := h.job("dyn", srv.URL("/dyn"), h.path("dyn"))
	h.must(h.m.SetDynamic(dyn, true))
	h.must(h.m.SetPriority(dyn, bits.PriorityForeground))
	h.must(h.m.Resume(dyn))
	in = h.waitState(dyn, bits.StateTransferred)
	if in.Files[0].BytesTotal != 70000 {
		t.Fatalf("%+v", in.Files)
	}
	wantCode(t, h.m.SetDynamic(dyn, false), bits.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME)
}

func TestMisbehavingServersEndInBITSStates(t *testing.T) {
	srv := testsrv.New(t)
	cases := []struct {
		path  string
		file  testsrv.File
		state bits.JobState
		name  string
	}{
		// Ferry takes a whole 200 from byte 0 (README: How jobs behave).
		{"/norange", testsrv.File{Size: 5000, NoRange: true}, bits.StateTransferred, ""},
		{"/nolength", testsrv.File{Size: 5000, NoLength: true}, bits.StateError, "BG_E_MISSING_FILE_SIZE"},
		{"/wrongrange", testsrv.File{Size: 5000, WrongRange: true}, bits.StateError, "BG_E_INVALID_SERVER_RESPONSE"},
		{"/loop", testsrv.File{Size: 5000, RedirectLoop: true}, bits.StateError, "ERROR_WINHTTP_REDIRECT_FAILED"},
		{"/stall", testsrv.File{Size: 5000, StallAfter: 100}, bits.StateTransientError, "ERROR_WINHTTP_TIMEOUT"},
		{"/cut", testsrv.File{Size: 5000, CutAfter: 1000}, bits.StateTransientError, "BG_E_CONNECTION_CLOSED"},
		{"/410", testsrv.File{Size: 5000, Status: 410}, bits.StateError, "BG_E_HTTP_ERROR_410"},
		{"/500", testsrv.File{Size: 5000, Status: 500}, bits.StateTransientError, "BG_E_HTTP_ERROR_500"},
	}
	h := newHarness(t)
	ids := map[string]string{}
	for _, c := range cases {
		srv.Handle(c.path, c.file)
		id := h.job(c.path, srv.URL(c.path), h.path(strings.TrimPrefix(c.path, "/")))
		h.must(h.m.SetPriority(id, bits.PriorityForeground))
		h.must(h.m.Resume(id))
		ids[c.path] = id
	}
	for _, c := range cases {
		in := h.waitState(ids[c.path], c.state)
		if c.name == "" && in.Error != nil {
			t.Errorf("%s: %s %+v, want no error", c.path, in.State, in.Error)
		}
		if c.name != "" && (in.Error == nil || in.Error.Name != c.name) {
			t.Errorf("%s: %s %+v, want %s", c.path, in.State, in.Error, c.name)
		}
	}
	// None of them left a file at its local name; Cancel removes the rest.
	for _, c := range cases {
		if _, err := os.Stat(h.path(strings.TrimPrefix(c.path, "/"))); !os.IsNotExist(err) {
			t.Errorf("%s: a local file exists", c.path)
		}
		_, err := h.m.Cancel(ids[c.path])
		h.must(err)
	}
	if tf := tempFiles(t, h.dir); len(tf) != 0 {
		t.Fatalf("temporary files left: %v", tf)
	}
}

func TestMultiFileFromNginx(t *testing.T) {
	root := t.TempDir()
	sizes := map[string]int{"a.bin": 5<<20 + 3, "b.bin": 1, "c.bin": 0, "d.bin": 700 << 10}
	for name, n := range sizes {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + len(name))
		}
		if err := os.WriteFile(filepath.Join(root, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := testenv.Nginx(t, root)
	h := newHarness(t)
	var pairs []string
	for _, name := range []string{"a.bin", "b.bin", "c.bin", "d.bin"} {
		pairs = append(pairs, base+"/"+name, h.path(name))
	}
	id := h.job("nginx", pairs...)
	h.must(h.m.Resume(id))
	in := h.waitState(id, bits.StateTransferred)
	if in.Progress.FilesTransferred != 4 || in.Progress.BytesTotal != int64(5<<20+3+1+0+700<<10) {
		t.Fatalf("%+v", in.Progress)
	}
	_, err := h.m.Complete(id)
	h.must(err)
	for name := range sizes {
		if fileSHA(t, h.path(name)) != fileSHA(t, filepath.Join(root, name)) {
			t.Errorf("%s differs", name)
		}
	}
}

func TestFileSourcesAndPlainPaths(t *testing.T) {
	h := newHarness(t)
	src := h.path("source.dat")
	h.must(os.WriteFile(src, []byte(strings.Repeat("ferry ", 10000)), 0o644))
	id := h.job("local", "file://"+src, h.path("copy1"), src, h.path("copy2"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	_, err := h.m.Complete(id)
	h.must(err)
	for _, p := range []string{"copy1", "copy2"} {
		if fileSHA(t, h.path(p)) != fileSHA(t, src) {
			t.Fatalf("%s differs", p)
		}
	}
	missing := h.job("missing", "file://"+h.path("nope"), h.path("x"))
	h.must(h.m.Resume(missing))
	in := h.waitState(missing, bits.StateError)
	if in.Error.Name != "ERROR_FILE_NOT_FOUND" || *in.Error.Protocol != "file" {
		t.Fatalf("%+v", in.Error)
	}
}

func TestProxyOverrideThroughTinyproxy(t *testing.T) {
	root := t.TempDir()
	h := newHarness(t)
	h.must(os.WriteFile(filepath.Join(root, "p.bin"), []byte(strings.Repeat("proxied ", 50000)), 0o644))
	base := testenv.Nginx(t, root)
	proxyURL, proxyLog := testenv.Tinyproxy(t)
	id := h.job("proxied", base+"/p.bin", h.path("p.bin"))
	h.must(h.m.SetProxySettings(id, bits.ProxyOverride, strings.TrimPrefix(proxyURL, "http://"), ""))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	_, err := h.m.Complete(id)
	h.must(err)
	if fileSHA(t, h.path("p.bin")) != fileSHA(t, filepath.Join(root, "p.bin")) {
		t.Fatal("content differs through the proxy")
	}
	logb, err := os.ReadFile(proxyLog)
	h.must(err)
	if !strings.Contains(string(logb), "/p.bin") {
		t.Fatalf("tinyproxy did not see the request:\n%s", logb)
	}
}

func TestResumeSkipsRetryDelay(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 100, FailTimes: 1})
	h := newHarness(t)
	id := h.job("skip", srv.URL("/f"), h.path("f"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransientError)
	h.must(h.m.Resume(id)) // no clock move: Resume retries at once
	h.waitState(id, bits.StateTransferred)
}

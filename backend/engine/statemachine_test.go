package engine

import (
	"os"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// settle gives the scheduler a moment to act on a clock move, for checks
// that something did NOT happen.
func settle() { time.Sleep(60 * time.Millisecond) }

func TestNewJobDefaults(t *testing.T) {
	h := newHarness(t)
	in, err := h.m.CreateJob("defaults", bits.TypeDownload)
	h.must(err)
	if in.State != bits.StateSuspended || in.Priority != bits.PriorityNormal || in.Type != bits.TypeDownload {
		t.Fatalf("%+v", in)
	}
	if in.MinRetryDelay != 600 || in.NoProgressTimeout != 1209600 || in.MaxDownloadTime != 7776000 || in.NotifyFlags != 3 {
		t.Fatalf("defaults %+v", in)
	}
	if in.Proxy.Usage != bits.ProxyPreconfig || in.Error != nil || in.ErrorCount != 0 || in.Owner != "tester" {
		t.Fatalf("defaults %+v", in)
	}
	if in.Times.CreationTime == nil || in.Times.TransferCompletionTime != nil {
		t.Fatalf("times %+v", in.Times)
	}
	if in.ID != strings.ToLower(in.ID) || len(in.ID) != 36 {
		t.Fatalf("id %q", in.ID)
	}
	// Braces and upper case are accepted on input, and the unique display name.
	for _, ref := range []string{"{" + strings.ToUpper(in.ID) + "}", "defaults"} {
		if got := h.info(ref); got.ID != in.ID {
			t.Fatalf("lookup %q gave %s", ref, got.ID)
		}
	}
	_, err = h.m.CreateJob("defaults", bits.TypeDownload)
	h.must(err)
	_, err = h.m.Info("defaults")
	wantCode(t, err, bits.E_INVALIDARG) // ambiguous name
	_, err = h.m.Info("nope")
	wantCode(t, err, bits.BG_E_NOT_FOUND)
}

func TestResumeEmptyJob(t *testing.T) {
	h := newHarness(t)
	id := h.job("empty")
	wantCode(t, h.m.Resume(id), bits.BG_E_EMPTY)
	if s := h.info(id).State; s != bits.StateSuspended {
		t.Fatalf("state %s", s)
	}
}

func TestTransientErrorRetriedAfterMinRetryDelay(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 5000, FailTimes: 2, FailStatus: 503})
	h := newHarness(t)
	id := h.job("retry", srv.URL("/f"), h.path("f"))
	h.must(h.m.Resume(id))
	in := h.waitState(id, bits.StateTransientError)
	if in.ErrorCount != 1 || in.Error == nil || in.Error.Name != "BG_E_HTTP_ERROR_503" || in.Error.Code != 0x801901F7 {
		t.Fatalf("after first failure: %+v %+v", in, in.Error)
	}
	if in.Error.Context != bits.ContextRemoteFile || in.Error.File == nil || in.Error.File.RemoteName != srv.URL("/f") {
		t.Fatalf("error object %+v", in.Error)
	}
	h.advance(599 * time.Second)
	settle()
	if s := h.info(id).State; s != bits.StateTransientError {
		t.Fatalf("retried before the minimum retry delay: %s", s)
	}
	h.advance(time.Second)
	in = h.waitState(id, bits.StateTransientError)
	for in.ErrorCount != 2 {
		in = h.waitState(id, bits.StateTransientError)
	}
	h.advance(600 * time.Second)
	in = h.waitState(id, bits.StateTransferred)
	if in.Error != nil || in.ErrorCount != 2 {
		t.Fatalf("after success: error %+v count %d", in.Error, in.ErrorCount)
	}
	_, err := h.m.GetError(id)
	wantCode(t, err, bits.BG_E_ERROR_INFORMATION_UNAVAILABLE)
}

func TestFatalHTTPErrors(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/404", testsrv.File{Size: 10, Status: 404})
	srv.Handle("/403", testsrv.File{Size: 10, Status: 403})
	h := newHarness(t)
	for _, c := range []struct {
		path string
		name string
	}{{"/404", "BG_E_HTTP_ERROR_404"}, {"/403", "BG_E_HTTP_ERROR_403"}} {
		id := h.job(c.path, srv.URL(c.path), h.path(c.path[1:]))
		h.must(h.m.Resume(id))
		in := h.waitState(id, bits.StateError)
		if in.Error.Name != c.name || in.ErrorCount != 1 || in.Error.Protocol == nil || *in.Error.Protocol != "http" {
			t.Fatalf("%s: %+v", c.path, in.Error)
		}
		e, err := h.m.GetError(id)
		h.must(err)
		if e.Name != c.name || e.Description == "" {
			t.Fatalf("GetError %+v", e)
		}
		// Resume retries at once; Cancel leaves nothing behind.
		h.must(h.m.Resume(id))
		in = h.waitState(id, bits.StateError)
		if in.ErrorCount != 2 {
			t.Fatalf("error count %d", in.ErrorCount)
		}
		res, err := h.m.Cancel(id)
		h.must(err)
		if res != bits.S_OK || h.info(id).State != bits.StateCancelled {
			t.Fatalf("cancel %s", res.Name())
		}
	}
	if tf := tempFiles(t, h.dir); len(tf) != 0 {
		t.Fatalf("temporary files left: %v", tf)
	}
}

func TestNoProgressTimeoutEndsRetries(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/down", testsrv.File{Size: 10, Status: 503})
	h := newHarness(t)
	id := h.job("np", srv.URL("/down"), h.path("np"))
	h.must(h.m.SetNoProgressTimeout(id, 1000))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransientError)
	h.advance(600 * time.Second)
	in := h.waitState(id, bits.StateTransientError)
	for in.ErrorCount < 2 {
		in = h.waitState(id, bits.StateTransientError)
	}
	h.advance(400 * time.Second)
	in = h.waitState(id, bits.StateError)
	if in.Error == nil || in.Error.Name != "BG_E_HTTP_ERROR_503" {
		t.Fatalf("%+v", in.Error)
	}
}

func TestNoRetriesWhenTimeoutZeroOrDelayBeyondIt(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/down", testsrv.File{Size: 10, Status: 503})
	h := newHarness(t)
	a := h.job("zero", srv.URL("/down"), h.path("a"))
	h.must(h.m.SetNoProgressTimeout(a, 0))
	b := h.job("beyond", srv.URL("/down"), h.path("b"))
	h.must(h.m.SetNoProgressTimeout(b, 100))
	h.must(h.m.SetMinimumRetryDelay(b, 200))
	h.must(h.m.SetPriority(a, bits.PriorityForeground))
	h.must(h.m.SetPriority(b, bits.PriorityForeground))
	h.must(h.m.Resume(a))
	h.must(h.m.Resume(b))
	h.waitState(a, bits.StateError)
	h.waitState(b, bits.StateError)
}

func TestMinRetryDelayFloor(t *testing.T) {
	h := newHarness(t)
	id := h.job("floor")
	h.must(h.m.SetMinimumRetryDelay(id, 1))
	if d := h.info(id).MinRetryDelay; d != 5 {
		t.Fatalf("delay %d, want 5", d)
	}
	wantCode(t, h.m.SetMinimumRetryDelay(id, -1), bits.E_INVALIDARG)
}

func TestMaxDownloadTime(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/slow", testsrv.File{Size: 1 << 20, StallAfter: 1000})
	h := newHarness(t, slowStall)
	id := h.job("max", srv.URL("/slow"), h.path("slow"))
	h.must(h.m.SetMaximumDownloadTime(id, 30))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferring)
	h.advance(29 * time.Second)
	settle()
	if s := h.info(id).State; s != bits.StateTransferring {
		t.Fatalf("state %s before the maximum download time", s)
	}
	h.advance(2 * time.Second)
	in := h.waitState(id, bits.StateError)
	if in.Error.Name != "BG_E_MAXDOWNLOAD_TIMEOUT" {
		t.Fatalf("%+v", in.Error)
	}
	// Resume restarts the clock.
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferring)
	h.advance(20 * time.Second)
	settle()
	if s := h.info(id).State; s != bits.StateTransferring {
		t.Fatalf("state %s: Resume did not reset the clock", s)
	}
	_, err := h.m.Cancel(id)
	h.must(err)
}

func TestSuspendResumeContinues(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/big", testsrv.File{Size: 4 << 20, StallAfter: 1 << 20})
	h := newHarness(t, slowStall)
	id := h.job("sr", srv.URL("/big"), h.path("big"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferring)
	h.must(h.m.Suspend(id))
	h.must(h.m.Suspend(id)) // already suspended: no-op
	if s := h.info(id).State; s != bits.StateSuspended {
		t.Fatalf("state %s", s)
	}
	srv.Update("/big", func(f *testsrv.File) { f.StallAfter = 0 })
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	_, err := h.m.Complete(id)
	h.must(err)
	if fileSHA(t, h.path("big")) != sha(srv.Body("/big")) {
		t.Fatal("content differs after suspend/resume")
	}
	// The second GET resumed where the first stopped, not from 0.
	var ranged bool
	for _, r := range srv.Requests("/big") {
		if r.Method == "GET" && r.Range != "" && r.Range != "bytes=0-" {
			ranged = true
		}
	}
	if !ranged {
		t.Fatalf("no resumed range request: %+v", srv.Requests("/big"))
	}
}

func TestCompletePartial(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/ok", testsrv.File{Size: 100})
	srv.Handle("/missing", testsrv.File{Size: 100, Status: 404})
	h := newHarness(t)
	id := h.job("partial", srv.URL("/ok"), h.path("ok"), srv.URL("/missing"), h.path("missing"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateError)
	res, err := h.m.Complete(id)
	h.must(err)
	if res != bits.BG_S_PARTIAL_COMPLETE {
		t.Fatalf("Complete = %s", res.Name())
	}
	if fileSHA(t, h.path("ok")) != sha(srv.Body("/ok")) {
		t.Fatal("ok differs")
	}
	if _, err := os.Stat(h.path("missing")); !os.IsNotExist(err) {
		t.Fatal("a file that was not transferred exists")
	}
	if tf := tempFiles(t, h.dir); len(tf) != 0 {
		t.Fatalf("temporary files left: %v", tf)
	}
}

func TestCompleteRenameFailureKeepsJob(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 100})
	h := newHarness(t)
	id := h.job("rename", srv.URL("/f"), h.path("f"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	// Someone puts a non-empty directory where the file goes.
	h.must(os.MkdirAll(h.path("f/x"), 0o755))
	_, err := h.m.Complete(id)
	if err == nil {
		t.Fatal("Complete succeeded over a directory")
	}
	if s := h.info(id).State; s != bits.StateTransferred {
		t.Fatalf("state %s after a failed rename", s)
	}
	h.must(os.RemoveAll(h.path("f")))
	res, err := h.m.Complete(id)
	h.must(err)
	if res != bits.S_OK || fileSHA(t, h.path("f")) != sha(srv.Body("/f")) {
		t.Fatalf("retry Complete: %s", res.Name())
	}
}

func TestCancelKeepsUserFiles(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 1 << 20, StallAfter: 1000})
	h := newHarness(t, slowStall)
	// A file of the user's already sits at the local name.
	h.must(os.WriteFile(h.path("f"), []byte("mine"), 0o644))
	id := h.job("keep", srv.URL("/f"), h.path("f"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferring)
	_, err := h.m.Cancel(id)
	h.must(err)
	b, err := os.ReadFile(h.path("f"))
	h.must(err)
	if string(b) != "mine" {
		t.Fatal("Cancel touched the user's file")
	}
	if tf := tempFiles(t, h.dir); len(tf) != 0 {
		t.Fatalf("temporary files left: %v", tf)
	}
	_, err = h.m.Cancel(id)
	wantCode(t, err, bits.BG_E_INVALID_STATE)
}

func TestFinalJobsRefuseChanges(t *testing.T) {
	h := newHarness(t)
	id := h.job("final")
	_, err := h.m.Cancel(id)
	h.must(err)
	calls := map[string]error{
		"AddFile":        h.m.AddFile(id, FileSpec{RemoteName: "http://x/y", LocalName: h.path("y")}),
		"Resume":         h.m.Resume(id),
		"Suspend":        h.m.Suspend(id),
		"SetDisplayName": h.m.SetDisplayName(id, "x"),
		"SetDescription": h.m.SetDescription(id, "x"),
		"SetPriority":    h.m.SetPriority(id, bits.PriorityHigh),
		"SetNotifyFlags": h.m.SetNotifyFlags(id, 1),
		"SetRetryDelay":  h.m.SetMinimumRetryDelay(id, 60),
		"SetNoProgress":  h.m.SetNoProgressTimeout(id, 60),
		"SetMaxDownload": h.m.SetMaximumDownloadTime(id, 60),
		"SetProxy":       h.m.SetProxySettings(id, bits.ProxyNoProxy, "", ""),
		"SetDynamic":     h.m.SetDynamic(id, true),
		"SetNotifyCmd":   h.m.SetNotifyCmdLine(id, "/bin/true", ""),
		"TakeOwnership":  h.m.TakeOwnership(id),
	}
	_, calls["Complete"] = h.m.Complete(id)
	_, calls["Cancel"] = h.m.Cancel(id)
	_, calls["ReplaceRemotePrefix"] = h.m.ReplaceRemotePrefix(id, "http://x", "http://y")
	for name, err := range calls {
		if bits.CodeOf(err) != bits.BG_E_INVALID_STATE {
			t.Errorf("%s on a CANCELLED job: %v", name, err)
		}
	}
	// Getters still answer until the job is purged.
	if in := h.info(id); in.State != bits.StateCancelled {
		t.Fatalf("state %s", in.State)
	}
}

func TestSetterRefusals(t *testing.T) {
	h := newHarness(t)
	id := h.job("refusals")
	long := func(n int) string { return strings.Repeat("x", n) }
	_, err := h.m.CreateJob(long(257), bits.TypeDownload)
	wantCode(t, err, bits.E_INVALIDARG)
	wantCode(t, h.m.SetDisplayName(id, long(257)), bits.BG_E_STRING_TOO_LONG)
	h.must(h.m.SetDisplayName(id, long(256)))
	wantCode(t, h.m.SetDescription(id, long(1025)), bits.BG_E_STRING_TOO_LONG)
	h.must(h.m.SetDescription(id, long(1024)))
	wantCode(t, h.m.SetPriority(id, 7), bits.E_NOTIMPL)
	wantCode(t, h.m.SetNotifyFlags(id, 0x40), bits.E_NOTIMPL)
	wantCode(t, h.m.SetProxySettings(id, bits.ProxyPreconfig, "p:80", ""), bits.E_INVALIDARG)
	wantCode(t, h.m.SetProxySettings(id, bits.ProxyOverride, "", ""), bits.E_INVALIDARG)
	wantCode(t, h.m.SetProxySettings(id, bits.ProxyOverride, long(4001), ""), bits.BG_E_PROXY_LIST_TOO_LARGE)
	wantCode(t, h.m.SetProxySettings(id, bits.ProxyOverride, "p:80", long(4001)), bits.BG_E_PROXY_BYPASS_LIST_TOO_LARGE)
	wantCode(t, h.m.SetProxySettings(id, 9, "", ""), bits.E_NOTIMPL)
	h.must(h.m.SetProxySettings(id, bits.ProxyOverride, "http=proxy:8080 https://sproxy:3128", "<local> *.example.com"))
	wantCode(t, h.m.SetNotifyCmdLine(id, "", "x"), bits.E_INVALIDARG)
	wantCode(t, h.m.SetNotifyCmdLine(id, "relative/prog", ""), bits.E_INVALIDARG)
	wantCode(t, h.m.SetNotifyCmdLine(id, "/bin/true", `"unclosed`), bits.E_INVALIDARG)
	in := h.info(id)
	if in.Proxy.Usage != bits.ProxyOverride || in.NotifyCmdLine != nil || in.NotifyFlags != 3 || in.Priority != bits.PriorityNormal {
		t.Fatalf("a refused call changed the job: %+v", in)
	}
	// Files.
	wantCode(t, h.m.AddFile(id, FileSpec{RemoteName: "http://h/x", LocalName: "relative"}), bits.E_INVALIDARG)
	wantCode(t, h.m.AddFile(id, FileSpec{RemoteName: "http://h/x", LocalName: h.path("no/such/dir/x")}), bits.ERROR_PATH_NOT_FOUND)
	wantCode(t, h.m.AddFile(id, FileSpec{RemoteName: "gopher://h/x", LocalName: h.path("x")}), bits.E_INVALIDARG)
	wantCode(t, h.m.AddFile(id, FileSpec{RemoteName: "http:///x", LocalName: h.path("x")}), bits.E_INVALIDARG)
	wantCode(t, h.m.AddFile(id, FileSpec{RemoteName: "http://h/" + long(2200), LocalName: h.path("x")}), bits.E_INVALIDARG)
	wantCode(t, h.m.AddFile(id, FileSpec{RemoteName: "http://h/x", LocalName: h.path("x"), SHA256: "abc"}), bits.E_INVALIDARG)
	wantCode(t, h.m.AddFile(id, FileSpec{RemoteName: "http://h/x", LocalName: h.dir}), bits.E_ACCESSDENIED) // only a regular file is replaced
	// AddFileSet is all or none.
	err = h.m.AddFileSet(id, []FileSpec{{RemoteName: "http://h/1", LocalName: h.path("1")}, {RemoteName: "http://h/2", LocalName: "bad"}})
	wantCode(t, err, bits.E_INVALIDARG)
	h.must(h.m.AddFile(id, FileSpec{RemoteName: "http://h/1", LocalName: h.path("1")}))
	wantCode(t, h.m.AddFile(id, FileSpec{RemoteName: "http://h/2", LocalName: h.path("1")}), bits.E_INVALIDARG) // same local name twice
	if n := len(h.info(id).Files); n != 1 {
		t.Fatalf("%d files, want 1", n)
	}
	// Dynamic content: download jobs only, before the first Resume.
	up, err := h.m.CreateJob("up", bits.TypeUpload)
	h.must(err)
	wantCode(t, h.m.SetDynamic(up.ID, true), bits.BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY)
	_, err = h.m.ReplaceRemotePrefix(up.ID, "a", "b")
	wantCode(t, err, bits.E_NOTIMPL)
	src := h.path("src")
	h.must(os.WriteFile(src, []byte("data"), 0o644))
	h.must(h.m.AddFile(up.ID, FileSpec{RemoteName: "http://h/up", LocalName: src}))
	wantCode(t, h.m.AddFile(up.ID, FileSpec{RemoteName: "http://h/up2", LocalName: src}), bits.BG_E_TOO_MANY_FILES)
	_, err = h.m.Complete(up.ID)
	wantCode(t, err, bits.BG_E_INVALID_STATE) // uploads complete only once TRANSFERRED
	h.must(h.m.SetDynamic(id, true))
	h.must(h.m.Suspend(id))
}

func TestLimits(t *testing.T) {
	h := newHarness(t)
	h.must(h.m.SetSetting(KeyMaxJobsPerUser, "2"))
	h.must(h.m.SetSetting(KeyMaxFilesPerJob, "2"))
	a := h.job("a")
	h.job("b")
	_, err := h.m.CreateJob("c", bits.TypeDownload)
	wantCode(t, err, bits.BG_E_TOO_MANY_JOBS_PER_USER)
	h.must(h.m.AddFileSet(a, []FileSpec{{RemoteName: "http://h/1", LocalName: h.path("1")}, {RemoteName: "http://h/2", LocalName: h.path("2")}}))
	wantCode(t, h.m.AddFile(a, FileSpec{RemoteName: "http://h/3", LocalName: h.path("3")}), bits.BG_E_TOO_MANY_FILES_IN_JOB)
	// Cancelled jobs no longer count.
	_, err = h.m.Cancel(a)
	h.must(err)
	h.job("c")
	wantCode(t, h.m.SetSetting(KeyMaxJobsPerUser, "0"), bits.E_INVALIDARG)
	wantCode(t, h.m.SetSetting("nope", "1"), bits.E_INVALIDARG)
	wantCode(t, h.m.SetSetting(KeyBandwidthLow, "fast"), bits.E_INVALIDARG)
	h.must(h.m.SetSetting(KeyBandwidthLow, "2M"))
	if v := h.m.Settings().Get(KeyBandwidthLow); v != 2<<20 {
		t.Fatalf("bandwidth.low = %d", v)
	}
	// Settings persist.
	h.restart()
	if v := h.m.Settings().Get(KeyMaxJobsPerUser); v != 2 {
		t.Fatalf("maxJobsPerUser after restart = %d", v)
	}
}

func TestReplaceRemotePrefix(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/new/f", testsrv.File{Size: 300})
	h := newHarness(t)
	id := h.job("rrp", "http://old.invalid/f", h.path("f"))
	res, err := h.m.ReplaceRemotePrefix(id, "http://nomatch/", srv.URL("/"))
	h.must(err)
	if res != bits.S_FALSE {
		t.Fatalf("no match gave %s", res.Name())
	}
	_, err = h.m.ReplaceRemotePrefix(id, "http://old.invalid/", "notaurl:")
	wantCode(t, err, bits.E_INVALIDARG)
	_, err = h.m.ReplaceRemotePrefix(id, "", "x")
	wantCode(t, err, bits.E_INVALIDARG)
	res, err = h.m.ReplaceRemotePrefix(id, "http://old.invalid/", srv.URL("/new/"))
	h.must(err)
	if res != bits.S_OK || h.info(id).Files[0].RemoteName != srv.URL("/new/f") {
		t.Fatalf("%s %+v", res.Name(), h.info(id).Files)
	}
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
}

func TestAddFileToTransferredJob(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/1", testsrv.File{Size: 100})
	srv.Handle("/2", testsrv.File{Size: 200})
	h := newHarness(t)
	id := h.job("more", srv.URL("/1"), h.path("1"))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	h.must(h.m.AddFile(id, FileSpec{RemoteName: srv.URL("/2"), LocalName: h.path("2")}))
	in := h.info(id)
	if in.State != bits.StateSuspended || in.Times.TransferCompletionTime != nil {
		t.Fatalf("after AddFile: %s %+v", in.State, in.Times)
	}
	h.must(h.m.Resume(id))
	in = h.waitState(id, bits.StateTransferred)
	if in.Progress.FilesTransferred != 2 {
		t.Fatalf("%+v", in.Progress)
	}
	gets := 0
	for _, r := range srv.Requests("/1") {
		if r.Method == "GET" {
			gets++
		}
	}
	if gets != 1 {
		t.Fatalf("the finished file was fetched %d times", gets)
	}
}

func TestInactivityTimeoutCancels(t *testing.T) {
	h := newHarness(t)
	h.must(h.m.SetSetting(KeyJobInactivityTimeout, "100"))
	id := h.job("idle")
	h.advance(99 * time.Second)
	settle()
	if s := h.info(id).State; s != bits.StateSuspended {
		t.Fatalf("state %s", s)
	}
	h.must(h.m.SetDescription(id, "touched")) // a change resets the clock
	h.advance(99 * time.Second)
	settle()
	if s := h.info(id).State; s != bits.StateSuspended {
		t.Fatalf("state %s after a change", s)
	}
	h.advance(2 * time.Second)
	h.waitState(id, bits.StateCancelled)
}

func TestValidationSHA256(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 4096})
	h := newHarness(t)
	in, err := h.m.CreateJob("sha", bits.TypeDownload)
	h.must(err)
	bad := strings.Repeat("0", 64)
	h.must(h.m.AddFile(in.ID, FileSpec{RemoteName: srv.URL("/f"), LocalName: h.path("bad"), SHA256: bad}))
	good, err := h.m.CreateJob("sha-good", bits.TypeDownload)
	h.must(err)
	h.must(h.m.AddFile(good.ID, FileSpec{RemoteName: srv.URL("/f"), LocalName: h.path("good"), SHA256: strings.ToUpper(sha(srv.Body("/f")))}))
	h.must(h.m.Resume(in.ID))
	h.must(h.m.Resume(good.ID))
	e := h.waitState(in.ID, bits.StateError)
	if e.Error.Name != "BG_E_VALIDATION_FAILED" || e.Files[0].BytesTransferred != 0 {
		t.Fatalf("%+v files %+v", e.Error, e.Files)
	}
	h.waitState(good.ID, bits.StateTransferred)
	_, err = h.m.Complete(good.ID)
	h.must(err)
	if fileSHA(t, h.path("good")) != sha(srv.Body("/f")) {
		t.Fatal("content")
	}
}

// slowStall lets stalled test servers hang for the length of a test.
func slowStall(c *Config) {
	c.Drivers[0] = newSlowHTTP()
}

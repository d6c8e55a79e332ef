package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/api/wire"
	"ferry/backend/bits"
	"ferry/backend/clock"
	"ferry/backend/desktop"
	"ferry/backend/engine"
	"ferry/backend/home"
	"ferry/backend/service"
	"ferry/backend/web"
)

// fakeUI records what App asks of the Wails runtime.
type fakeUI struct {
	mu     sync.Mutex
	gate   chan struct{} // when set, each Emit waits for it to be closed
	events []emitted
	shows  int
	hides  int
	quits  int
}

type emitted struct {
	name string
	data any
}

func (f *fakeUI) Emit(name string, data any) {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, emitted{name, data})
}
func (f *fakeUI) Show()                                { f.mu.Lock(); f.shows++; f.mu.Unlock() }
func (f *fakeUI) Hide()                                { f.mu.Lock(); f.hides++; f.mu.Unlock() }
func (f *fakeUI) Quit()                                { f.mu.Lock(); f.quits++; f.mu.Unlock() }
func (f *fakeUI) PickDirectory(string) (string, error) { return "/picked", nil }
func (f *fakeUI) PickFile(string) (string, error)      { return "/picked/file", nil }

func (f *fakeUI) counts() (shows, hides, quits int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.shows, f.hides, f.quits
}

func (f *fakeUI) named(name string) []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []any
	for _, e := range f.events {
		if e.name == name {
			out = append(out, e.data)
		}
	}
	return out
}

// fakeTray stands in for backend/desktop's tray.
type fakeTray struct {
	mu        sync.Mutex
	available bool
	stopped   bool
	actions   desktop.Actions
	events    <-chan engine.Event
	jobs      func() []bits.JobInfo
}

func (t *fakeTray) Available() bool { t.mu.Lock(); defer t.mu.Unlock(); return t.available }
func (t *fakeTray) Stop()           { t.mu.Lock(); t.stopped = true; t.mu.Unlock() }

type fakeNotifier struct {
	ran    chan struct{}
	closed bool
	onOpen func(string)
}

func (n *fakeNotifier) Run(evs <-chan engine.Event) {
	close(n.ran)
	for range evs {
	}
}
func (n *fakeNotifier) Close() error { n.closed = true; return nil }

// testShell returns a shell whose tray (nil: no tray host) and notifier
// the test inspects.
func testShell(tray *fakeTray, fn *fakeNotifier) shell {
	return shell{
		startTray: func(a desktop.Actions, jobs func() []bits.JobInfo, evs <-chan engine.Event) (trayIcon, error) {
			if tray == nil {
				return nil, desktop.ErrNoTrayHost
			}
			tray.actions, tray.jobs, tray.events = a, jobs, evs
			return tray, nil
		},
		newNotifier: func(onOpen func(string)) (notifier, error) {
			if fn == nil {
				return nil, desktop.ErrNoSessionBus
			}
			fn.onOpen = onOpen
			return fn, nil
		},
	}
}

// realEngine runs a real engine in a temporary FERRY_HOME, as the window does.
func realEngine(t *testing.T) (*Engine, *service.Running) {
	t.Helper()
	h, err := home.At(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := service.Start(h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	return &Engine{Manager: r.Manager(), Stop: func() { r.Stop() }, ShutdownRequested: r.ShutdownRequested(), Log: r.Logger()}, r
}

func startApp(t *testing.T, tray *fakeTray, n *fakeNotifier) (*App, *fakeUI, *Engine) {
	t.Helper()
	eng, _ := realEngine(t)
	app := NewApp(func() (*Engine, error) { return eng, nil })
	app.shell = testShell(tray, n)
	app.view = &fakeView{}
	ui := &fakeUI{}
	app.start(context.Background(), ui)
	app.domReady(context.Background())
	t.Cleanup(app.close)
	return app, ui, eng
}

// fakeView counts what App asks of the page's process.
type fakeView struct {
	mu                   sync.Mutex
	loads, stops, starts int
}

func (v *fakeView) Loaded() { v.mu.Lock(); v.loads++; v.mu.Unlock() }
func (v *fakeView) Stop()   { v.mu.Lock(); v.stops++; v.mu.Unlock() }
func (v *fakeView) Start()  { v.mu.Lock(); v.starts++; v.mu.Unlock() }
func (v *fakeView) counts() (loads, stops, starts int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.loads, v.stops, v.starts
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCallRunsTheOperationsTable(t *testing.T) {
	app, _, _ := startApp(t, nil, nil)
	raw, err := app.Call("create", []string{"nightly"}, map[string]string{"upload": "true"})
	if err != nil {
		t.Fatal(err)
	}
	var created bits.JobInfo
	if err := json.Unmarshal(raw, &created); err != nil || created.ID == "" || created.Type != bits.TypeUpload {
		t.Fatalf("create = %s, %v", raw, err)
	}
	if _, err := app.Call("setdescription", []string{created.ID, "a <b> & c"}, nil); err != nil {
		t.Fatal(err)
	}
	raw, err = app.Call("info", []string{created.ID}, nil)
	if err != nil || !strings.Contains(string(raw), `"description":"a <b> & c"`) {
		t.Fatalf("info = %s, %v (want the description unescaped, as the control API prints it)", raw, err)
	}
	raw, err = app.Call("list", nil, nil)
	var list []bits.JobInfo
	if err != nil || json.Unmarshal(raw, &list) != nil || len(list) != 1 {
		t.Fatalf("list = %s, %v", raw, err)
	}
	// Errors keep their BITS code, and reach the page as the API's shape.
	_, err = app.Call("info", []string{"00000000-0000-0000-0000-000000000000"}, nil)
	body, ok := formatError(err).(wire.ErrorBody)
	if !ok || body.Name != "BG_E_NOT_FOUND" || body.Code != bits.BG_E_NOT_FOUND || body.Message == "" {
		t.Fatalf("unknown job: %v → %+v", err, formatError(err))
	}
	_, err = app.Call("nosuchop", nil, nil)
	if body := formatError(err).(wire.ErrorBody); body.Name != "E_INVALIDARG" {
		t.Fatalf("unknown op → %+v", body)
	}
	_, err = app.Call("getstate", nil, nil)
	if body := formatError(err).(wire.ErrorBody); body.Name != "E_INVALIDARG" {
		t.Fatalf("missing argument → %+v", body)
	}
	if body := formatError(errors.New("plain")).(wire.ErrorBody); body.Name != "E_FAIL" || body.Message != "plain" {
		t.Fatalf("foreign error → %+v", body)
	}
}

func TestCallWaitsForStartup(t *testing.T) {
	eng, _ := realEngine(t)
	release := make(chan struct{})
	app := NewApp(func() (*Engine, error) { <-release; return eng, nil })
	app.shell = testShell(nil, nil)
	got := make(chan error, 1)
	go func() {
		_, err := app.Call("list", nil, nil)
		got <- err
	}()
	go app.start(context.Background(), &fakeUI{})
	select {
	case <-got:
		t.Fatal("Call returned before the engine was open")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-got; err != nil {
		t.Fatalf("Call after startup: %v", err)
	}
	app.close()
}

func TestOpenErrorReachesTheWindow(t *testing.T) {
	app := NewApp(func() (*Engine, error) { return nil, errors.New("engine locked") })
	app.shell = testShell(nil, nil)
	app.start(context.Background(), &fakeUI{})
	defer app.close()
	_, err := app.Call("list", nil, nil)
	if body := formatError(err).(wire.ErrorBody); body.Name != "E_FAIL" || !strings.Contains(body.Message, "engine locked") {
		t.Fatalf("Call error = %+v, want the open error", body)
	}
}

func TestCloseWithoutStart(t *testing.T) {
	app := NewApp(func() (*Engine, error) { t.Fatal("opened"); return nil, nil })
	app.close()
	if _, err := app.Call("list", nil, nil); err == nil {
		t.Fatal("Call after close succeeded without an engine")
	}
}

// A burst of changes reaches the window as a few "job" events, the newest last.
func TestChangesArePushedCoalesced(t *testing.T) {
	app, ui, _ := startApp(t, nil, nil)
	raw, err := app.Call("create", []string{"burst"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var j bits.JobInfo
	json.Unmarshal(raw, &j)
	start := time.Now()
	for i := range 40 {
		if _, err := app.Call("setdescription", []string{j.ID, strings.Repeat("x", i+1)}, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	burst := time.Since(start)
	last := func() (bits.JobInfo, int) {
		evs := ui.named(eventJob)
		if len(evs) == 0 {
			return bits.JobInfo{}, 0
		}
		return evs[len(evs)-1].(bits.JobInfo), len(evs)
	}
	waitFor(t, "the newest description", func() bool { l, _ := last(); return len(l.Description) == 40 })
	if _, n := last(); n > int(burst/(250*time.Millisecond))+3 {
		t.Fatalf("%d events for a %v burst of 41 changes", n, burst)
	}
}

// A window that falls behind the engine's events (its page stalled) is not
// left with a stale list: it subscribes again and the page is told to list
// the jobs anew ("resync").
func TestWindowResyncsAfterOverflow(t *testing.T) {
	defer func(n int) { engine.SubscriberBuffer = n }(engine.SubscriberBuffer)
	engine.SubscriberBuffer = 8
	app, ui, _ := startApp(t, nil, nil)
	gate := make(chan struct{})
	ui.mu.Lock()
	ui.gate = gate
	ui.mu.Unlock()
	for i := range 40 { // jobs, not progress: nothing to coalesce
		if _, err := app.Call("create", []string{fmt.Sprintf("j%d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	close(gate)
	// At least one: the window may fall behind again while it waits at the
	// gate with its resync, and then it resyncs once more.
	waitFor(t, "a resync event", func() bool { return len(ui.named(eventResync)) >= 1 })
	// The new subscription works.
	if _, err := app.Call("create", []string{"after"}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job created after the resync", func() bool {
		for _, e := range ui.named(eventJob) {
			if e.(bits.JobInfo).DisplayName == "after" {
				return true
			}
		}
		return false
	})
}

func TestCloseHidesToTheTray(t *testing.T) {
	tray := &fakeTray{available: true}
	app, ui, _ := startApp(t, tray, nil)
	if !app.beforeClose(context.Background()) {
		t.Fatal("closing the window with a tray quit the app")
	}
	if _, hides, _ := ui.counts(); hides != 1 {
		t.Fatalf("hides = %d, want 1", hides)
	}
	if n := app.Notices(); len(n) != 0 {
		t.Fatalf("notices with a tray: %+v", n)
	}
	// The panel went away: closing quits now.
	tray.mu.Lock()
	tray.available = false
	tray.mu.Unlock()
	if app.beforeClose(context.Background()) {
		t.Fatal("closing without a tray host was prevented")
	}
}

func TestTrayQuitQuits(t *testing.T) {
	tray := &fakeTray{available: true}
	app, ui, _ := startApp(t, tray, nil)
	tray.actions.Quit()
	if _, _, quits := ui.counts(); quits != 1 {
		t.Fatalf("quits = %d", quits)
	}
	// Wails 2.16's Quit goes through OnBeforeClose: it must let go.
	if app.beforeClose(context.Background()) {
		t.Fatal("Quit from the tray was turned into a hide")
	}
	app.close()
	tray.mu.Lock()
	defer tray.mu.Unlock()
	if !tray.stopped {
		t.Fatal("the tray was not stopped on shutdown")
	}
}

func TestNoTrayQuitsAndSaysSo(t *testing.T) {
	app, ui, _ := startApp(t, nil, nil)
	if app.beforeClose(context.Background()) {
		t.Fatal("closing without a tray was prevented")
	}
	n := app.Notices()
	if len(n) != 1 || n[0].ID != "no-tray" {
		t.Fatalf("notices = %+v, want the no-tray notice", n)
	}
	if evs := ui.named(eventNotice); len(evs) != 1 {
		t.Fatalf("notice events = %v", evs)
	}
}

// A panel that starts after the app (usual at login): until it is there
// closing quits and the window says so; then closing hides.
func TestLateTrayHost(t *testing.T) {
	tray := &fakeTray{available: false}
	app, ui, _ := startApp(t, tray, nil)
	if n := app.Notices(); len(n) != 1 || n[0].ID != "no-tray" {
		t.Fatalf("notices = %+v, want the no-tray notice", n)
	}
	if app.beforeClose(context.Background()) {
		t.Fatal("closing before the panel appeared was prevented")
	}
	tray.mu.Lock()
	tray.available = true
	tray.mu.Unlock()
	if !app.beforeClose(context.Background()) {
		t.Fatal("closing with the late panel quit the app")
	}
	if _, hides, _ := ui.counts(); hides != 1 {
		t.Fatalf("hides = %d, want 1", hides)
	}
}

func TestTrayActions(t *testing.T) {
	tray := &fakeTray{available: true}
	app, ui, eng := startApp(t, tray, nil)
	m := eng.Manager
	a, _ := m.CreateJob("a", bits.TypeDownload)
	dir := t.TempDir()
	if err := m.AddFile(a.ID, engine.FileSpec{RemoteName: "http://127.0.0.1:1/x", LocalName: dir + "/x"}); err != nil {
		t.Fatal(err)
	}
	if got := tray.jobs(); len(got) != 1 || got[0].ID != a.ID {
		t.Fatalf("tray's jobs = %+v", got)
	}
	tray.actions.ResumeAll()
	if in, _ := m.Info(a.ID); in.State == bits.StateSuspended {
		t.Fatalf("after Resume all: %s", in.State)
	}
	tray.actions.SuspendAll()
	if in, _ := m.Info(a.ID); in.State != bits.StateSuspended {
		t.Fatalf("after Suspend all: %s", in.State)
	}
	tray.actions.OpenJob(a.ID)
	if shows, _, _ := ui.counts(); shows != 1 {
		t.Fatalf("shows = %d", shows)
	}
	if evs := ui.named(eventOpenJob); len(evs) != 1 || evs[0] != a.ID {
		t.Fatalf("open-job events = %v", evs)
	}
	tray.actions.Show()
	if shows, _, _ := ui.counts(); shows != 2 {
		t.Fatalf("shows = %d", shows)
	}
	_ = app
}

func TestShowBeforeStartupIsKept(t *testing.T) {
	eng, _ := realEngine(t)
	app := NewApp(func() (*Engine, error) { return eng, nil })
	app.shell = testShell(nil, nil)
	app.show() // a second `ferry` started while this one was starting
	ui := &fakeUI{}
	app.start(context.Background(), ui)
	defer app.close()
	if shows, _, _ := ui.counts(); shows != 1 {
		t.Fatalf("shows = %d, want the pending one", shows)
	}
}

func TestNotifierGetsItsOwnSubscription(t *testing.T) {
	n := &fakeNotifier{ran: make(chan struct{})}
	app, ui, _ := startApp(t, nil, n)
	select {
	case <-n.ran:
	case <-time.After(5 * time.Second):
		t.Fatal("the notifier was not run")
	}
	n.onOpen("some-job")
	if evs := ui.named(eventOpenJob); len(evs) != 1 || evs[0] != "some-job" {
		t.Fatalf("clicking a notification: open-job events %v", evs)
	}
	app.close()
	if !n.closed {
		t.Fatal("the notifier was not closed")
	}
}

func TestShutdownRequestQuits(t *testing.T) {
	tray := &fakeTray{available: true}
	app, ui, _ := startApp(t, tray, nil)
	if _, err := app.Call("shutdown", nil, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "quit", func() bool { _, _, q := ui.counts(); return q == 1 })
	if app.beforeClose(context.Background()) {
		t.Fatal("a shutdown request was turned into a hide")
	}
}

func TestMetaAndPickers(t *testing.T) {
	app, _, _ := startApp(t, nil, nil)
	m := app.Meta()
	if len(m.Ops) == 0 || len(m.Settings) != len(engine.SettingDefs) {
		t.Fatalf("meta: %d ops, %d settings", len(m.Ops), len(m.Settings))
	}
	if d, err := app.PickDirectory("x"); err != nil || d != "/picked" {
		t.Fatalf("PickDirectory = %q, %v", d, err)
	}
	if f, err := app.PickFile("x"); err != nil || f != "/picked/file" {
		t.Fatalf("PickFile = %q, %v", f, err)
	}
}

// A quit that comes before the page has loaded (SIGTERM right after start)
// waits for it: Wails' Quit would be lost before GTK's main loop runs.
func TestQuitBeforeTheMainLoopWaits(t *testing.T) {
	eng, _ := realEngine(t)
	app := NewApp(func() (*Engine, error) { return eng, nil })
	app.shell = testShell(&fakeTray{available: true}, nil)
	app.quit() // before startup
	ui := &fakeUI{}
	app.start(context.Background(), ui)
	defer app.close()
	app.quit() // after startup, before the page
	if _, _, quits := ui.counts(); quits != 0 {
		t.Fatalf("quit reached the window before its main loop: %d", quits)
	}
	app.domReady(context.Background())
	if _, _, quits := ui.counts(); quits != 1 {
		t.Fatalf("quits after the page loaded = %d, want 1", quits)
	}
	if app.beforeClose(context.Background()) {
		t.Fatal("the pending quit was turned into a hide")
	}
}

// A window left hidden in the tray gives up its page's process after
// releaseAfter; one shown again before keeps it. Showing it loads the page
// again, a job opened meanwhile opens once the page is up, and no event is
// sent to a page that is not there.
func TestHiddenWindowReleasesItsPage(t *testing.T) {
	tray := &fakeTray{available: true}
	app, ui, eng := startApp(t, tray, nil)
	clk := clock.NewFake(time.Unix(1e9, 0))
	app.clock = clk
	view := app.view.(*fakeView)
	m := eng.Manager
	job, err := m.CreateJob("a", bits.TypeDownload)
	if err != nil {
		t.Fatal(err)
	}

	// Closed and opened again at once: the page stays.
	if !app.beforeClose(context.Background()) {
		t.Fatal("closing with a tray quit")
	}
	app.show()
	clk.Advance(2 * releaseAfter)
	time.Sleep(50 * time.Millisecond)
	if _, stops, _ := view.counts(); stops != 0 {
		t.Fatalf("a window shown again within %v lost its page (%d stops)", releaseAfter, stops)
	}

	// Left in the tray: the page's process ends after releaseAfter.
	app.beforeClose(context.Background())
	clk.Advance(releaseAfter - time.Second)
	time.Sleep(50 * time.Millisecond)
	if _, stops, _ := view.counts(); stops != 0 {
		t.Fatalf("the page ended before %v", releaseAfter)
	}
	clk.Advance(time.Second)
	waitFor(t, "the page's process to end", func() bool { _, stops, _ := view.counts(); return stops == 1 })

	// No page: changes are not pushed (the page lists the jobs when it loads).
	before := len(ui.named(eventJob))
	if err := m.SetDisplayName(job.ID, "renamed while hidden"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * web.MinPushInterval)
	if n := len(ui.named(eventJob)); n != before {
		t.Fatalf("%d job events sent to a page that is not there", n-before)
	}

	// A notification's click: the window shows, the page loads again, and
	// the job opens once it is up.
	app.openJob(job.ID)
	if _, _, starts := view.counts(); starts != 1 {
		t.Fatalf("showing the window started the page %d times, want 1", starts)
	}
	if evs := ui.named(eventOpenJob); len(evs) != 0 {
		t.Fatalf("open-job sent before the page was up: %v", evs)
	}
	app.domReady(context.Background())
	if evs := ui.named(eventOpenJob); len(evs) != 1 || evs[0] != job.ID {
		t.Fatalf("open-job events after the page loaded = %v", evs)
	}
	if err := m.SetDisplayName(job.ID, "renamed when shown"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "changes to reach the page again", func() bool { return len(ui.named(eventJob)) > before })
	app.show() // shown already: nothing to load
	if _, stops, starts := view.counts(); stops != 1 || starts != 1 {
		t.Fatalf("stops, starts = %d, %d; want 1, 1", stops, starts)
	}
}

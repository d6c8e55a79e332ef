package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"ferry/backend/api/wire"
	"ferry/backend/bits"
	"ferry/backend/clock"
	"ferry/backend/desktop"
	"ferry/backend/desktop/tray"
	"ferry/backend/engine"
	"ferry/backend/ops"
	"ferry/backend/service"
	"ferry/backend/web"

	"github.com/wailsapp/wails/v2/pkg/runtime"
)

// Events the window receives (runtime.EventsOn in the frontend).
const (
	eventJob     = "job"      // a job's new state (bits.JobInfo), coalesced per job
	eventResync  = "resync"   // the window fell behind the engine's events: list the jobs again
	eventOpenJob = "open-job" // the tray or a notification asks to open a job (its id)
	eventNotice  = "notice"   // something the user should know once (Notice)
)

// Engine is the engine the window runs in-process, as desktop_engine.go
// opens it.
type Engine struct {
	Manager *engine.Manager
	// Stop stops the engine cleanly; nil when there is nothing to stop.
	Stop func()
	// ShutdownRequested is closed when a client asks the engine to stop
	// (`ferry shutdown`): the app then quits. Nil: never.
	ShutdownRequested <-chan struct{}
	// Log is the engine's log (FERRY_HOME/ferry.log); nil: slog's default.
	Log *slog.Logger
	// Home is FERRY_HOME ("" in tests that have none).
	Home string
}

// windowRuntime is the part of the Wails runtime that App uses. Wails'
// runtime.* functions call log.Fatalf outside a Wails context, so tests
// replace it with a fake.
type windowRuntime interface {
	Emit(name string, data any)
	Show()
	Hide()
	Quit()
	PickDirectory(title string) (string, error)
	PickFile(title string) (string, error)
}

type wailsRuntime struct{ ctx context.Context }

func (w wailsRuntime) Emit(name string, data any) { runtime.EventsEmit(w.ctx, name, data) }
func (w wailsRuntime) Show() {
	runtime.WindowUnminimise(w.ctx)
	runtime.WindowShow(w.ctx)
}
func (w wailsRuntime) Hide() { runtime.WindowHide(w.ctx) }
func (w wailsRuntime) Quit() { runtime.Quit(w.ctx) }
func (w wailsRuntime) PickDirectory(title string) (string, error) {
	return runtime.OpenDirectoryDialog(w.ctx, runtime.OpenDialogOptions{Title: title, CanCreateDirectories: true})
}
func (w wailsRuntime) PickFile(title string) (string, error) {
	return runtime.OpenFileDialog(w.ctx, runtime.OpenDialogOptions{Title: title})
}

// webView is the page's process, as webview_*.go reach it past Wails.
type webView interface {
	// Loaded runs once the page has loaded (settings that need the view).
	Loaded()
	// Stop ends the page's process and frees its memory (the view goes
	// blank); Start loads the page again in a new one.
	Stop()
	Start()
}

// releaseAfter: how long the window stays hidden in the tray before its
// page's process is ended. A window closed and opened again at once keeps
// its page (and its dialogs); one left in the tray stops costing memory.
const releaseAfter = 10 * time.Second

// trayIcon and notifier are backend/desktop's tray and notifier, behind
// interfaces so that tests need no session bus.
type trayIcon interface {
	Available() bool
	Stop()
}

type notifier interface {
	Run(<-chan engine.Event)
	Close() error
}

// shell starts what the app shows outside its window.
type shell struct {
	startTray   func(desktop.Actions, func() []bits.JobInfo, <-chan engine.Event) (trayIcon, error)
	newNotifier func(onOpen func(id string)) (notifier, error)
}

// desktopShell is the real one; the adapters keep a nil *Tray or *Notifier
// from becoming a non-nil interface.
var desktopShell = shell{
	startTray: func(a desktop.Actions, jobs func() []bits.JobInfo, evs <-chan engine.Event) (trayIcon, error) {
		t, err := tray.Start(a, jobs, evs)
		if err != nil {
			return nil, err
		}
		return t, nil
	},
	newNotifier: func(onOpen func(string)) (notifier, error) {
		n, err := desktop.NewNotifier(onOpen)
		if err != nil {
			return nil, err
		}
		return n, nil
	},
}

// Notice is a message the window shows once, above the job list.
type Notice struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// noTrayNotice says why closing the window quits (issue 4: "otherwise it
// quits, after saying so once").
var noTrayNotice = Notice{ID: "no-tray",
	Text: "No system tray was found, so closing this window quits Ferry: transfers pause until you open it again (or run `ferry service`). If a tray appears later, Ferry's icon shows there and closing the window hides it instead."}

// App is the Wails-bound adapter between the window and the engine. Its
// exported methods become window.go.main.App.* in the frontend: Call runs
// one operation of the ops table in-process, the very handlers behind the
// control API, so the window and the browser UI differ only in transport.
type App struct {
	open    func() (*Engine, error)
	shell   shell
	version string
	// release gives up the single-instance claim (main sets it).
	release func()

	mu          sync.Mutex
	ui          windowRuntime // nil until startup
	pendingShow bool          // a second start asked to show us before startup
	pageLoaded  bool          // the page has loaded: Wails' main loop runs
	pendingQuit bool          // a quit came before that
	notices     []Notice

	quitting atomic.Bool

	// The page's process while the window is hidden (see releaseAfter).
	view        webView
	clock       clock.Clock
	hidden      uint64 // bumped by each hide and show: a release is for one hide
	isHidden    bool
	released    atomic.Bool // the page's process is ended: events have no one to reach
	reloading   bool        // the page loads again (show after a release)
	pendingOpen string      // a job to open once the reloaded page is up

	startOnce sync.Once
	ready     chan struct{} // closed once the engine is open (or failed to open)
	ctx       context.Context
	env       *ops.Env
	eng       web.Engine // the seam the window shares with `ferry web`
	err       error
	tray      trayIcon
	log       *slog.Logger
	stop      func()
}

// NewApp returns an App that opens its engine when the window starts, not
// before: `wails build` runs the binary to generate bindings, and that run
// must not take the lock or open the database.
func NewApp(open func() (*Engine, error)) *App {
	return &App{open: open, shell: desktopShell, version: service.Version, ready: make(chan struct{}),
		ctx: context.Background(), log: slog.Default(), view: platformView{}, clock: clock.Real{}}
}

// startup is Wails' OnStartup hook (it runs off the main thread).
func (a *App) startup(ctx context.Context) { a.start(ctx, wailsRuntime{ctx}) }

// domReady is Wails' OnDomReady. Only from here on does a quit reach the
// window: OnStartup (and with it the tray, and a SIGTERM's handler) may run
// before Wails has entered GTK's main loop, and Wails' Quit is lost then
// (gtk_main_quit has no loop to end). A quit that came early is done now.
func (a *App) domReady(context.Context) {
	a.mu.Lock()
	a.pageLoaded = true
	a.reloading = false
	quit := a.pendingQuit
	ui := a.ui
	open := a.pendingOpen
	a.pendingOpen = ""
	a.mu.Unlock()
	a.view.Loaded()
	if quit && ui != nil {
		ui.Quit()
	}
	if open != "" && ui != nil {
		ui.Emit(eventOpenJob, open)
	}
}

// beforeClose is Wails' OnBeforeClose: closing the window hides it into
// the tray while a tray host shows the icon; transfers go on. Without one
// the app quits (the window said so when it started). Quitting from the tray
// passes here too (Wails 2.16's Quit asks OnBeforeClose), hence quitting.
func (a *App) beforeClose(context.Context) (prevent bool) {
	if a.quitting.Load() {
		return false
	}
	a.mu.Lock()
	ui := a.ui
	a.mu.Unlock()
	if ui != nil && a.trayAvailable() {
		ui.Hide()
		a.hid()
		return true
	}
	return false
}

// hid starts the wait after which a window still hidden gives up its
// page's process (WebKit's web process: some 110 MB) and Go's free heap.
// Transfers go on; showing the window loads the page again.
func (a *App) hid() {
	a.mu.Lock()
	a.hidden++
	a.isHidden = true
	gen := a.hidden
	a.mu.Unlock()
	t := a.clock.NewTimer(releaseAfter)
	go func() {
		<-t.C()
		a.mu.Lock()
		release := a.isHidden && a.hidden == gen && !a.released.Load() && !a.quitting.Load()
		if release {
			a.released.Store(true)
		}
		a.mu.Unlock()
		if release {
			a.log.Info("desktop: the window is hidden; its page's process is ended until it shows again")
			a.view.Stop()
			debug.FreeOSMemory()
		}
	}()
}

// shutdown is Wails' OnShutdown hook.
func (a *App) shutdown(context.Context) {
	a.close()
	if a.release != nil {
		a.release()
	}
}

func (a *App) trayAvailable() bool {
	select {
	case <-a.ready:
	default:
		return false
	}
	return a.tray != nil && a.tray.Available()
}

// start opens the engine, then forwards its changes to the window and
// starts the tray and the notifier. A failure of the tray or the notifier
// is logged and the app goes on without it.
func (a *App) start(ctx context.Context, ui windowRuntime) {
	a.mu.Lock()
	a.ui = ui
	show := a.pendingShow
	a.pendingShow = false
	a.mu.Unlock()
	a.startOnce.Do(func() {
		defer close(a.ready)
		eng, err := a.open()
		if err != nil {
			a.err = err
			return
		}
		if eng.Log != nil {
			a.log = eng.Log
		}
		a.ctx = ctx
		m := eng.Manager
		a.env = &ops.Env{Manager: m, Shutdown: a.quit, Home: eng.Home}
		// The window reaches the engine through the same seam as `ferry
		// web`, in-process: the same calls, the same coalesced changes.
		a.eng = web.LocalEngine(a.env)
		var stops []func() // run in reverse order

		stream, err := a.eng.Subscribe(ctx)
		if err != nil {
			a.err = err
			return
		}
		cctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.follow(cctx, stream, ui)
		}()
		stops = append(stops, func() { cancel(); wg.Wait() })

		// The tray subscribes before it lists, so nothing falls between.
		// Watch, not Subscribe: if it falls behind it catches up from a
		// snapshot rather than going deaf.
		tevs, tunsubscribe := m.Watch()
		tray, err := a.shell.startTray(desktop.Actions{
			Show:       a.show,
			SuspendAll: func() { a.forAll(suspendable, m.Suspend) },
			ResumeAll:  func() { a.forAll(resumable, m.Resume) },
			OpenJob:    a.openJob,
			Quit:       a.quit,
		}, func() []bits.JobInfo { return m.List(false, false) }, tevs)
		if err != nil {
			tunsubscribe()
			a.log.Warn("desktop: no tray icon; closing the window will quit", "err", err)
			a.notice(noTrayNotice)
		} else {
			a.tray = tray
			stops = append(stops, tunsubscribe, tray.Stop)
			if !tray.Available() {
				// No panel yet: the icon shows when one starts.
				a.log.Info("desktop: no tray host yet; closing the window quits until one appears")
				a.notice(noTrayNotice)
			}
		}

		nevs, nunsubscribe := m.Watch()
		n, err := a.shell.newNotifier(a.openJob)
		if err != nil {
			nunsubscribe()
			a.log.Warn("desktop: no desktop notifications", "err", err)
		} else {
			go n.Run(nevs)
			stops = append(stops, nunsubscribe, func() { _ = n.Close() })
		}

		// `ferry shutdown` aimed at this engine quits the app.
		done := make(chan struct{})
		if eng.ShutdownRequested != nil {
			go func() {
				select {
				case <-eng.ShutdownRequested:
					a.quit()
				case <-done:
				}
			}()
		}
		stops = append(stops, func() { close(done) })
		a.stop = sync.OnceFunc(func() {
			for i := len(stops) - 1; i >= 0; i-- {
				stops[i]()
			}
			if eng.Stop != nil {
				eng.Stop()
			}
		})
	})
	if show {
		ui.Show()
	}
}

// follow pushes the engine's job changes to the window until ctx ends. If
// the window falls so far behind that the engine drops its subscription, it
// subscribes again and tells the page to list the jobs anew.
func (a *App) follow(ctx context.Context, stream web.Stream, ui windowRuntime) {
	for {
		err := web.Follow(ctx, stream, web.MinPushInterval, func(j bits.JobInfo) {
			// With no page (see hid), no one listens: the page lists the
			// jobs anew when it loads again.
			if !a.released.Load() {
				ui.Emit(eventJob, j)
			}
		})
		stream.Close()
		if ctx.Err() != nil || !errors.Is(err, web.ErrOverflow) {
			return
		}
		a.log.Warn("desktop: the window fell behind the engine's events; listing the jobs again")
		if stream, err = a.eng.Subscribe(ctx); err != nil {
			a.log.Error("desktop: resubscribe to the engine's events", "err", err)
			return
		}
		ui.Emit(eventResync, nil)
	}
}

// close stops the tray, the notifier and the engine; it does nothing if
// start never ran.
func (a *App) close() {
	started := true
	a.startOnce.Do(func() { started = false; close(a.ready) })
	if !started {
		return
	}
	<-a.ready
	if a.stop != nil {
		a.stop()
	}
}

// show brings the window up: the tray's "Show Ferry" and a second start of
// ferry. A second start may arrive before Wails has started the window:
// the show waits for it.
func (a *App) show() {
	a.mu.Lock()
	ui := a.ui
	if ui == nil {
		a.pendingShow = true
	}
	a.hidden++
	a.isHidden = false
	reload := a.released.Load()
	if reload {
		a.released.Store(false)
		a.reloading = true // until domReady comes again
	}
	a.mu.Unlock()
	if reload {
		a.view.Start()
	}
	if ui != nil {
		ui.Show()
	}
}

// openJob shows the window and asks the UI to open one job (a recent job
// in the tray's menu, a click on a notification).
func (a *App) openJob(id string) {
	a.show()
	a.mu.Lock()
	ui := a.ui
	if a.reloading {
		// The page is loading again (see hid): it opens the job once up.
		a.pendingOpen = id
		ui = nil
	}
	a.mu.Unlock()
	if ui != nil {
		ui.Emit(eventOpenJob, id)
	}
}

// quit ends the app for good: the tray's Quit, `ferry shutdown`, SIGTERM.
// Before the page has loaded it waits for domReady.
func (a *App) quit() {
	a.quitting.Store(true)
	a.mu.Lock()
	ui := a.ui
	ready := a.pageLoaded
	if ui == nil || !ready {
		a.pendingQuit = true
	}
	a.mu.Unlock()
	if ui != nil && ready {
		ui.Quit()
	}
}

// suspendable and resumable: the jobs that the tray's "Suspend all" and
// "Resume all" act on, as the operations table declares suspend and resume
// (engine.Verbs); a job without files is not resumable (BG_E_EMPTY).
func suspendable(j bits.JobInfo) bool { return ops.AllowsNamed("suspend", j) }

func resumable(j bits.JobInfo) bool { return ops.AllowsNamed("resume", j) }

// forAll applies a job method to every job that allowed selects (the
// tray's Suspend all and Resume all); a job that changed state in between
// fails harmlessly.
func (a *App) forAll(allowed func(bits.JobInfo) bool, do func(string) error) {
	<-a.ready
	if a.env == nil {
		return
	}
	for _, j := range a.env.Manager.List(false, false) {
		if allowed(j) {
			if err := do(j.ID); err != nil {
				a.log.Info("desktop: tray action skipped a job", "job", j.ID, "err", err)
			}
		}
	}
}

func (a *App) notice(n Notice) {
	a.mu.Lock()
	a.notices = append(a.notices, n)
	ui := a.ui
	a.mu.Unlock()
	if ui != nil {
		ui.Emit(eventNotice, n)
	}
}

// Call runs one operation of the ops table, exactly as the control API
// would, and returns its JSON result. It waits for the engine if the
// window asks before startup has finished. Its errors reach the page as
// {code, name, message} (see formatError).
func (a *App) Call(op string, args []string, flags map[string]string) (json.RawMessage, error) {
	<-a.ready
	if a.err != nil {
		return nil, bits.Errorf(bits.E_FAIL, "the engine did not start: %v", a.err)
	}
	if a.env == nil {
		return nil, bits.Errorf(bits.E_FAIL, "the window is closing")
	}
	return a.eng.Call(a.ctx, op, ops.Request{Args: args, Flags: flags})
}

// Meta describes the operations and the engine's settings, as the browser
// UI's GET /v1/meta does.
func (a *App) Meta() web.Meta { return web.BuildMeta(a.version) }

// Notices returns what the window should show once; later ones come as
// "notice" events.
func (a *App) Notices() []Notice {
	<-a.ready
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Notice{}, a.notices...)
}

// PickDirectory opens the system's folder picker ("" when cancelled).
func (a *App) PickDirectory(title string) (string, error) {
	a.mu.Lock()
	ui := a.ui
	a.mu.Unlock()
	if ui == nil {
		return "", errors.New("the window is not ready")
	}
	return ui.PickDirectory(title)
}

// PickFile opens the system's file picker ("" when cancelled).
func (a *App) PickFile(title string) (string, error) {
	a.mu.Lock()
	ui := a.ui
	a.mu.Unlock()
	if ui == nil {
		return "", errors.New("the window is not ready")
	}
	return ui.PickFile(title)
}

// formatError is Wails' ErrorFormatter: a bound method's error reaches the
// page in the wire format, so the UI reads one shape from either transport.
func formatError(err error) any { return *wire.Body(err) }

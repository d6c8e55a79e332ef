// Package service assembles and runs the one engine of a FERRY_HOME: the
// lock, the store, the drivers, the manager and the control API, with a log
// file in FERRY_HOME. `ferry service` runs it headless; the desktop window
// runs the same engine in-process through Start.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"ferry/backend/api"
	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/home"
	"ferry/backend/netcost"
	"ferry/backend/netwatch"
	"ferry/backend/ops"
	"ferry/backend/store"
	"ferry/backend/transfer"
)

// Version is Ferry's version; release builds set it with
// -ldflags "-X ferry/backend/service.Version=1.2.3".
var Version = "0.1.0-dev"

// maxLogSize: a larger log is moved to ferry.log.1 when the engine starts.
const maxLogSize = 8 << 20

// Running is a started engine.
type Running struct {
	home     home.Home
	lock     *home.Lock
	logFile  *os.File
	log      *slog.Logger
	store    *store.Store
	mgr      *engine.Manager
	cost     *netcost.Monitor
	net      netwatch.Watcher // nil: network changes are not watched here
	srv      *api.Server
	served   chan error
	shutdown chan struct{}
	shutOnce sync.Once
	stopOnce sync.Once
	stopErr  error
}

// Start takes FERRY_HOME's lock and starts the engine and its control API.
// When another engine holds the lock the error is a *home.LockedError.
func Start(h home.Home) (_ *Running, err error) {
	if err := h.Ensure(); err != nil {
		return nil, err
	}
	lock, err := h.Lock()
	if err != nil {
		return nil, err
	}
	r := &Running{home: h, lock: lock, served: make(chan error, 1), shutdown: make(chan struct{})}
	defer func() {
		if err != nil {
			r.abort()
		}
	}()
	if r.logFile, err = openLog(h.LogFile()); err != nil {
		return nil, err
	}
	r.log = slog.New(slog.NewTextHandler(r.logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if r.store, err = store.Open(h.DB()); err != nil {
		return nil, err
	}
	box, keyMissing, err := openSecrets(h, r.store, r.log)
	if err != nil {
		return nil, err
	}
	owner := home.Owner()
	// Loading the queue is CPU work, not I/O: it gets every processor
	// (the garbage collector marks on the others while the load decodes),
	// then the engine goes back to one (OneProcessor).
	if os.Getenv("GOMAXPROCS") == "" {
		prev := runtime.GOMAXPROCS(runtime.NumCPU())
		defer runtime.GOMAXPROCS(prev)
	}
	// The network's cost, for COST_FLAGS: a change wakes the scheduler (the
	// manager exists only after New, hence the pointer).
	var kick atomic.Pointer[engine.Manager]
	r.cost = netcost.Start(r.log, func() {
		if m := kick.Load(); m != nil {
			m.Kick()
		}
	})
	// Network changes wake the retries of jobs in TRANSIENT_ERROR.
	var netChanges <-chan struct{}
	if r.net, err = netwatch.New(); err != nil {
		r.log.Info("network changes are not watched; retries wait out their delays", "err", err)
		r.net, err = nil, nil
	} else {
		netChanges = r.net.Changes()
	}
	r.mgr, err = engine.New(engine.Config{
		Store:      r.store,
		Drivers:    []transfer.Driver{transfer.NewHTTP(transfer.HTTPConfig{}), transfer.NewFile()},
		Owner:      owner,
		Logger:     r.log,
		Secrets:    box,
		KeyFile:    h.SecretKeyFile(),
		KeyMissing: keyMissing,
		NewKey:     func() (engine.SecretBox, error) { return h.SecretBox() },
		Cost:       r.cost.State,
		HintDir:    h.HintDir(),
		NetChanges: netChanges,
	})
	if err != nil {
		return nil, fmt.Errorf("start the engine: %w", err)
	}
	kick.Store(r.mgr)
	ln, err := api.Listen(h.Socket())
	if err != nil {
		return nil, err
	}
	r.srv = api.NewServer(&ops.Env{Manager: r.mgr, Shutdown: r.requestShutdown, Home: h.Dir},
		api.Hello{Version: Version, PID: os.Getpid(), Home: h.Dir, Owner: owner}, r.log)
	r.mgr.Start()
	go func() { r.served <- r.srv.Serve(ln) }()
	// Loading a queue makes garbage a few times the size of what it keeps
	// (a queue of 100,000 files: about 120 MB for 56 MB kept): it goes
	// back to the OS now, while the engine already answers, rather than
	// over the next minutes.
	go debug.FreeOSMemory()
	r.log.Info("engine started", "home", h.Dir, "pid", os.Getpid(), "version", Version, "socket", api.SocketAddr(h.Socket()))
	return r, nil
}

// openSecrets loads FERRY_HOME's secret key. A missing key is made anew only
// when the database holds no secret sealed with the old one: replacing it
// then would leave those credentials unreadable for good, and the jobs
// would fail later with a 401 that hides why. Instead the engine runs
// without a key (box nil, keyMissing), reports the jobs and keeps their
// sealed secrets until the key is restored or `ferry secrets reset`.
func openSecrets(h home.Home, st *store.Store, log *slog.Logger) (box engine.SecretBox, keyMissing bool, err error) {
	b, err := h.LoadSecretBox()
	if err == nil {
		return b, false, nil
	}
	if !errors.Is(err, home.ErrNoSecretKey) {
		return nil, false, err
	}
	n, err := st.SealedSecrets()
	if err != nil {
		return nil, false, err
	}
	if n > 0 {
		log.Error("the secret key is missing while the database holds secrets sealed with it; no new key is made",
			"key", h.SecretKeyFile(), "sealed", n)
		return nil, true, nil // a nil interface, not a nil *home.SecretBox
	}
	if b, err = h.SecretBox(); err != nil {
		return nil, false, err
	}
	return b, false, nil
}

// openLog opens the log for appending, moving an oversized one aside.
func openLog(path string) (*os.File, error) {
	if st, err := os.Stat(path); err == nil && st.Size() > maxLogSize {
		_ = os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return f, nil
}

// abort undoes a partial Start.
func (r *Running) abort() {
	if r.cost != nil {
		r.cost.Close()
	}
	if r.mgr != nil {
		r.mgr.Close()
	}
	if r.net != nil {
		r.net.Close()
	}
	if r.store != nil {
		r.store.Close()
	}
	if r.logFile != nil {
		r.logFile.Close()
	}
	r.lock.Release()
}

// Manager is the running engine.
func (r *Running) Manager() *engine.Manager { return r.mgr }

// Home is the FERRY_HOME it runs for.
func (r *Running) Home() home.Home { return r.home }

// Logger is the engine's logger (to FERRY_HOME's log file).
func (r *Running) Logger() *slog.Logger { return r.log }

// ShutdownRequested is closed when a client asked the engine to stop
// (`ferry shutdown`); the host then calls Stop.
func (r *Running) ShutdownRequested() <-chan struct{} { return r.shutdown }

func (r *Running) requestShutdown() {
	r.shutOnce.Do(func() {
		r.log.Info("shutdown requested")
		close(r.shutdown)
	})
}

// Stop stops the control API, then the engine (transfers pause at a
// persisted offset), closes the store and releases the lock. It is safe to
// call more than once.
func (r *Running) Stop() error {
	r.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var errs []error
		if err := r.srv.Close(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := <-r.served; err != nil {
			errs = append(errs, fmt.Errorf("control API: %w", err))
		}
		r.cost.Close()
		if err := r.mgr.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stop the engine: %w", err))
		}
		if r.net != nil {
			r.net.Close()
		}
		if err := r.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close the database: %w", err))
		}
		r.stopErr = errors.Join(errs...)
		if r.stopErr != nil {
			r.log.Error("engine stopped with errors", "err", r.stopErr)
		} else {
			r.log.Info("engine stopped")
		}
		// The socket goes with the listener; the lock goes last, so that a
		// new engine never starts before this one has let go of everything.
		if err := r.lock.Release(); err != nil && r.stopErr == nil {
			r.stopErr = err
		}
		r.logFile.Close()
	})
	return r.stopErr
}

// OneProcessor runs the process's Go code on one processor unless the
// GOMAXPROCS variable says otherwise. An engine is I/O bound, and with more
// processors every HTTP request and file operation hands goroutines between
// OS threads: 2,000 files of 16 KiB cost 8.8 context switches a file against
// curl's one, and took 1.6 s with two processors, 0.9 s with one (curl
// 0.8 s, make bench on the 2-core development machine), while one 1 GiB
// download kept its speed (0.78x curl's time). Kernel work (network, disk,
// fsync) still uses every core: a goroutine in a system call leaves the
// processor to the others. The switch itself stops the world and frees the
// other processors' caches (about 0.1 ms), so a command that makes one call
// and exits does not make it.
func OneProcessor() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

// Run is `ferry service`: it starts the engine and runs it until SIGINT,
// SIGTERM, a shutdown request or ctx ends, then stops it cleanly. It reports
// on out when it starts and stops.
func Run(ctx context.Context, h home.Home, out io.Writer) error {
	OneProcessor() // ferry's main does it too; Run may be called from elsewhere
	r, err := Start(h)
	if err != nil {
		var le *home.LockedError
		if errors.As(err, &le) {
			return bits.Errorf(bits.ERROR_SERVICE_ALREADY_RUNNING, "%v; stop it with 'ferry shutdown' first", le)
		}
		return bits.Errorf(bits.E_FAIL, "cannot start the engine: %v", err)
	}
	stopNotifier := r.notifyDesktop()
	// SIGHUP too: a closed terminal should stop the engine cleanly, not kill it.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	fmt.Fprintf(out, "ferry: engine %s running for FERRY_HOME %s (pid %d); stop it with Ctrl-C or 'ferry shutdown'\n", Version, h.Dir, os.Getpid())
	select {
	case <-ctx.Done():
		r.log.Info("signal received; stopping")
	case <-r.ShutdownRequested():
	}
	stopNotifier()
	if err := r.Stop(); err != nil {
		return bits.Errorf(bits.E_FAIL, "the engine stopped with errors: %v", err)
	}
	fmt.Fprintln(out, "ferry: engine stopped")
	return nil
}

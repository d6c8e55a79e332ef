// Package engine is Ferry's BITS: the job manager, its state machine,
// scheduler, retry and timeout policy, bandwidth, durable progress and events.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ferry/backend/bits"
	"ferry/backend/clock"
	"ferry/backend/store"
	"ferry/backend/transfer"
)

// Config assembles a Manager.
type Config struct {
	Store   *store.Store
	Clock   clock.Clock       // default: the real clock
	Drivers []transfer.Driver // by URL scheme
	Owner   string            // the OS user who owns new jobs
	Logger  *slog.Logger
	// RunNotify runs a notify command line (argv, never a shell); nil = os/exec.
	RunNotify func(ctx context.Context, program string, args []string) error
	// CheckpointInterval and CheckpointBytes bound the bytes a crash can
	// lose: data is fsynced and its offset recorded at least this often.
	CheckpointInterval time.Duration
	CheckpointBytes    int64
	// FinalRetention is how long an ACKNOWLEDGED/CANCELLED job still answers
	// info before it is purged.
	FinalRetention time.Duration
	// ProgressInterval coalesces "modified" events of a transferring job.
	ProgressInterval time.Duration
	// Secrets seals job passwords for the store; nil = SetCredentials fails.
	Secrets SecretBox
	// KeyFile is the secret key's path, for messages. KeyMissing: the file
	// is missing while the store holds secrets sealed with it, so Secrets is
	// nil and no key was made (secretkey.go); NewKey makes one once
	// ResetSecrets has dropped them.
	KeyFile    string
	KeyMissing bool
	NewKey     func() (SecretBox, error)
	// UploadFragmentSize is the body of one upload Fragment (0: the
	// driver's default, transfer.DefaultFragmentSize).
	UploadFragmentSize int64
	// Cost reads the network's cost for COST_FLAGS (cost.go); nil: always
	// unrestricted.
	Cost NetworkCost
	// HintDir keeps the resume hints of downloads (resumehint.go): after a
	// crash of the process, not of the machine, a download goes on from
	// the bytes it wrote rather than from its last checkpoint. "": none.
	HintDir string
	// NetChanges receives a value when the machine's network changes
	// (backend/netwatch); nil: retries wait out their delays.
	NetChanges <-chan struct{}
}

// Manager is the one engine of a FERRY_HOME.
type Manager struct {
	cfg  Config
	clk  clock.Clock
	log  *slog.Logger
	st   *store.Store
	bus  *bus
	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	bw   *bandwidth
	wg   sync.WaitGroup // workers and notify runs
	// life ends notify command lines still running when the engine stops.
	life    context.Context
	endLife context.CancelFunc
	drvMap  map[string]transfer.Driver

	keys       keyState   // secretkey.go
	settingsOp sync.Mutex // serialises SetSetting's writes
	mu         timedMutex // guards memory only: no I/O is done under it
	jobs       map[string]*entry
	seq        int64 // creation order
	creating   int64 // jobs whose first commit is in flight
	queueSeq   int64 // round-robin order
	settings   Settings
	texts      map[string]string // UnitPath settings that were set
	netChange  time.Time         // the last network change (NetChanges)
	closed     bool
	started    bool
}

// entry is the engine's live state for one job.
type entry struct {
	id          string    // the job's id, which never changes: read without the lock
	job         *bits.Job // the committed record: replaced whole by commit, never edited in place
	seq         int64
	op          sync.Mutex // serialises commits of this job (taken before mu)
	live        []*live    // per file: bytes written, not yet durable (-1: none)
	queuedAt    int64      // FIFO order among equal priorities
	sliceStart  time.Time  // when it last got a transfer slot
	activeSince time.Time
	worker      *worker // the running transfer, if any
	prev        *worker // a stopped transfer that may still be checkpointing
	hold        int     // >0 while an operation waits for the worker to stop
	notifying   bool
	gone        bool         // purged: commits refuse
	replyLive   atomic.Int64 // an upload-reply job's reply bytes in flight
}

// New loads the queue from the store. Call Start to begin transferring.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("engine: no store")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = time.Second
	}
	if cfg.CheckpointBytes <= 0 {
		cfg.CheckpointBytes = 16 << 20
	}
	if cfg.FinalRetention <= 0 {
		cfg.FinalRetention = 5 * time.Minute
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = 250 * time.Millisecond
	}
	if cfg.RunNotify == nil {
		cfg.RunNotify = execNotify
	}
	m := &Manager{
		cfg: cfg, clk: cfg.Clock, log: cfg.Logger, st: cfg.Store, bus: newBus(),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		jobs: map[string]*entry{}, settings: DefaultSettings(), texts: map[string]string{}, drvMap: map[string]transfer.Driver{},
	}
	m.life, m.endLife = context.WithCancel(context.Background())
	m.keys.box, m.keys.since = cfg.Secrets, cfg.Clock.Now()
	for _, d := range cfg.Drivers {
		for _, s := range d.Schemes() {
			m.drvMap[s] = d
		}
	}
	if err := m.load(); err != nil {
		return nil, err
	}
	m.pruneHints() // resumehint.go
	if err := m.loadCredentials(); err != nil {
		return nil, err
	}
	m.bw = newBandwidth(m.clk)
	m.bw.configure(m.settings)
	return m, nil
}

func (m *Manager) load() error {
	stored, err := m.st.Settings()
	if err != nil {
		return err
	}
	for k, v := range stored {
		if IsTextSetting(k) {
			key, t, err := ParseTextSetting(k, v)
			if err != nil {
				m.setAsideSetting(k, v, err) // unreadable.go
				continue
			}
			m.texts[key] = t
			continue
		}
		key, n, err := ParseSetting(k, v)
		if err != nil {
			m.setAsideSetting(k, v, err) // unreadable.go
			continue
		}
		m.settings[key] = n
	}
	jobs, err := m.st.LoadJobs()
	if err != nil {
		return err
	}
	m.logUnreadable() // unreadable.go
	now := m.clk.Now()
	for _, sj := range jobs {
		j := sj.Job
		e := &entry{id: j.ID, job: j, seq: sj.Seq, live: newLives(len(j.Files))}
		m.jobs[j.ID] = e
		if sj.Seq > m.seq {
			m.seq = sj.Seq
		}
		if j.State.Final() {
			// Purged at restart: nothing can ask for it any more. A crash
			// between Cancel's commit and its clean-up leaves temporary
			// files that only this record names.
			removeTemps(m.log, j)
			if err := m.commit(e, func(c *change) error { c.remove = true; return nil }); err != nil {
				return err
			}
			continue
		}
		if j.State.Active() {
			// Interrupted by a stop or a crash: back in the queue. Only its
			// row changes; every other job is as stored. The modification
			// time stays: nobody changed the job.
			if err := m.commit(e, func(c *change) error { c.job.State = bits.StateQueued; return nil }); err != nil {
				return err
			}
		}
		if e.job.State == bits.StateQueued {
			m.queueSeq++
			e.queuedAt = m.queueSeq
		}
	}
	m.log.Info("queue loaded", "jobs", len(m.jobs), "at", now.UTC().Format(time.RFC3339))
	return nil
}

// Start runs the scheduler until Close.
func (m *Manager) Start() {
	m.mu.Lock()
	if m.started {
		m.mu.Unlock()
		return
	}
	m.started = true
	m.mu.Unlock()
	go m.loop()
	m.wake()
}

// Close stops every transfer at a persisted offset and the scheduler. Jobs
// that were transferring are recorded QUEUED and continue after a restart.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	started := m.started
	m.mu.Unlock()
	close(m.stop)
	if started {
		<-m.done
	}
	// The scheduler has stopped: no worker starts any more. Each transfer
	// stops at a checkpoint and goes back to QUEUED.
	m.mu.Lock()
	var active []*entry
	for _, e := range m.jobs {
		if e.worker != nil {
			active = append(active, e)
		}
	}
	m.mu.Unlock()
	var errs []error
	for _, e := range active {
		release := m.hold(e)
		if err := m.commit(e, func(c *change) error {
			if !c.job.State.Active() {
				c.noop = true
				return nil
			}
			return c.to(bits.StateQueued)
		}); err != nil {
			errs = append(errs, err)
		}
		release()
	}
	m.endLife()
	m.wg.Wait()
	return errors.Join(errs...)
}

// Subscribe streams every event from now on.
func (m *Manager) Subscribe() (<-chan Event, func()) { return m.bus.Subscribe() }

func (m *Manager) wake() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// eventFileList bounds the jobs whose fileTransferred events carry the
// whole file list, as info does: past it, a job's events would grow with the
// square of its files; the event's "file" names the one transferred.
const eventFileList = 256

// emit publishes an event for e (caller holds mu).
func (m *Manager) emit(e *entry, kind EventKind, fileIndex int) {
	v := m.view(e)
	m.publish(e, v, v.Info(kind == EventFileTransferred && len(v.Files) <= eventFileList), kind, fileIndex)
}

// publish sends one event of e; v is its view and info v's rendering, made
// once for all the events of a commit (caller holds mu).
func (m *Manager) publish(e *entry, v *bits.Job, info bits.JobInfo, kind EventKind, fileIndex int) {
	bit := kind.notifyBit()
	ev := Event{Kind: kind, Job: info, FileIndex: fileIndex, Notify: bit != 0 && e.job.NotifyFlags.Wants(bit)}
	if fileIndex >= 0 && fileIndex < len(v.Files) {
		f := v.Files[fileIndex]
		ev.File = &bits.FileInfo{RemoteName: f.RemoteName, LocalName: f.LocalName, BytesTotal: f.BytesTotal,
			BytesTransferred: f.BytesTransferred, Completed: f.Transferred}
	}
	m.bus.publish(ev)
}

// view is e's record with the bytes written but not yet durable (caller
// holds mu). The record itself is returned when nothing is in flight.
func (m *Manager) view(e *entry) *bits.Job {
	var v *bits.Job
	inUse := 0
	for i, l := range e.live {
		if i >= len(e.job.Files) {
			break
		}
		f := &e.job.Files[i]
		inUse += int(l.conns.Load())
		n, total := l.n.Load(), l.total.Load()
		if f.Transferred || ((n < 0 || n == f.BytesTransferred) && (total < -1 || total == f.BytesTotal)) {
			continue
		}
		if v == nil {
			v = e.job.Clone()
		}
		if n >= 0 {
			v.Files[i].BytesTransferred = n
		}
		if total >= -1 {
			v.Files[i].BytesTotal = total
		}
	}
	if inUse != e.job.ConnectionsInUse && v == nil {
		v = e.job.Clone()
	}
	if v == nil {
		return e.job
	}
	v.ConnectionsInUse = inUse
	return v
}

// lookup finds a job by id (braces and case ignored) or unique display name.
func (m *Manager) lookup(ref string) (*entry, error) {
	id := strings.ToLower(strings.Trim(strings.TrimSpace(ref), "{}"))
	if e, ok := m.jobs[id]; ok {
		return e, nil
	}
	var found []*entry
	for _, e := range m.jobs {
		if !e.job.State.Final() && e.job.DisplayName == ref {
			found = append(found, e)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, bits.Errorf(bits.BG_E_NOT_FOUND, "no job has the id or display name %q", ref)
	}
	return nil, bits.Errorf(bits.E_INVALIDARG, "%d jobs are named %q; name the job by its id", len(found), ref)
}

// lookupLive finds a job that still accepts changes.
func (m *Manager) lookupLive(ref string) (*entry, error) {
	e, err := m.lookup(ref)
	if err != nil {
		return nil, err
	}
	if e.job.State.Final() {
		return nil, bits.Errorf(bits.BG_E_INVALID_STATE, "job %s is %s and can no longer be changed", e.job.ID, e.job.State)
	}
	return e, nil
}

func execNotify(ctx context.Context, program string, args []string) error {
	cmd := exec.CommandContext(ctx, program, args...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("notify command %s: %w", program, err)
	}
	return nil
}

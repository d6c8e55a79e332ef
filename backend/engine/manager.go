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

	mu       sync.Mutex
	jobs     map[string]*entry
	seq      int64 // creation order
	queueSeq int64 // round-robin order
	settings Settings
	closed   bool
	started  bool
}

// entry is the engine's live state for one job.
type entry struct {
	job         *bits.Job
	seq         int64
	durable     []int64   // per file: bytes fsynced and recorded
	queuedAt    int64     // FIFO order among equal priorities
	sliceStart  time.Time // when it last got a transfer slot
	activeSince time.Time
	lastEmit    time.Time
	worker      *worker // the running transfer, if any
	prev        *worker // a stopped transfer that may still be checkpointing
	hold        int     // >0 while an operation waits for the worker to stop
	notifying   bool
}

type worker struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func (w *worker) wait() {
	if w != nil {
		<-w.done
	}
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
		jobs: map[string]*entry{}, settings: DefaultSettings(), drvMap: map[string]transfer.Driver{},
	}
	m.life, m.endLife = context.WithCancel(context.Background())
	for _, d := range cfg.Drivers {
		for _, s := range d.Schemes() {
			m.drvMap[s] = d
		}
	}
	if err := m.load(); err != nil {
		return nil, err
	}
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
		if j.State.Final() {
			// Purged at restart: nothing can ask for it any more.
			if err := m.st.DeleteJob(j.ID); err != nil {
				return err
			}
			continue
		}
		if j.State.Active() {
			// Interrupted by a stop or a crash: back in the queue.
			j.State = bits.StateQueued
		}
		e := &entry{job: j, seq: sj.Seq}
		for _, f := range j.Files {
			e.durable = append(e.durable, f.BytesTransferred)
		}
		if j.State == bits.StateQueued {
			m.queueSeq++
			e.queuedAt = m.queueSeq
		}
		m.jobs[j.ID] = e
		if sj.Seq > m.seq {
			m.seq = sj.Seq
		}
		if err := m.persistFiles(e); err != nil {
			return err
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
	var ws []*worker
	for _, e := range m.jobs {
		if e.worker != nil {
			ws = append(ws, e.worker)
			e.prev, e.worker = e.worker, nil
			e.prev.cancel()
			m.setState(e, bits.StateQueued)
			m.persistJob(e)
		}
	}
	started := m.started
	m.mu.Unlock()
	close(m.stop)
	if started {
		<-m.done
	}
	for _, w := range ws {
		w.wait()
	}
	m.endLife()
	m.wg.Wait()
	return nil
}

// Subscribe streams every event from now on.
func (m *Manager) Subscribe() (<-chan Event, func()) { return m.bus.Subscribe() }

func (m *Manager) wake() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// emit publishes an event for e (caller holds mu).
func (m *Manager) emit(e *entry, kind EventKind, fileIndex int) {
	bit := kind.notifyBit()
	ev := Event{Kind: kind, Job: e.job.Info(kind == EventFileTransferred), FileIndex: fileIndex,
		Notify: bit != 0 && e.job.NotifyFlags.Wants(bit)}
	m.bus.publish(ev)
}

// persistJob writes the job row and its files with their durable offsets.
func (m *Manager) persistJob(e *entry) {
	if err := m.st.SaveJob(e.seq, m.durableCopy(e)); err != nil {
		m.log.Error("persist job", "job", e.job.ID, "err", err)
	}
}

// persistRow writes only the job's own row.
func (m *Manager) persistRow(e *entry) {
	if err := m.st.SaveJobOnly(e.job); err != nil {
		m.log.Error("persist job", "job", e.job.ID, "err", err)
	}
}

func (m *Manager) persistFiles(e *entry) error {
	return m.st.SaveJob(e.seq, m.durableCopy(e))
}

func (m *Manager) persistFile(e *entry, i int) {
	f := e.job.Files[i]
	f.BytesTransferred = e.durable[i]
	if err := m.st.SaveFile(e.job.ID, i, &f); err != nil {
		m.log.Error("persist file", "job", e.job.ID, "file", i, "err", err)
	}
}

// durableCopy is the job as it may be recorded: never an offset whose bytes
// are not yet fsynced.
func (m *Manager) durableCopy(e *entry) *bits.Job {
	c := e.job.Clone()
	for i := range c.Files {
		if i < len(e.durable) {
			c.Files[i].BytesTransferred = e.durable[i]
		}
	}
	return c
}

// setState moves a job to s, keeping the active-time account (caller holds mu).
func (m *Manager) setState(e *entry, s bits.JobState) {
	j := e.job
	now := m.clk.Now()
	if j.State.Active() && !s.Active() && !e.activeSince.IsZero() {
		j.ActiveTime += now.Sub(e.activeSince)
		e.activeSince = time.Time{}
	}
	if !j.State.Active() && s.Active() {
		e.activeSince = now
	}
	if s == bits.StateTransferring {
		j.Error = nil // the error object lives only until transfer resumes
	}
	if s == bits.StateQueued && j.State != bits.StateQueued && !j.State.Active() {
		m.queueSeq++
		e.queuedAt = m.queueSeq
	}
	if s.Final() {
		j.FinalTime = now
	}
	j.State = s
	j.ModificationTime = now
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

// detach stops e's transfer without waiting (caller holds mu). The stopped
// worker checkpoints on its own; a new one waits for it before touching files.
func (m *Manager) detach(e *entry) *worker {
	w := e.worker
	if w == nil {
		return e.prev
	}
	w.cancel()
	e.worker = nil
	e.prev = w
	return w
}

// stopAndHold detaches the worker and waits for it with mu released, holding
// the job off the scheduler meanwhile. It returns with mu held.
func (m *Manager) stopAndHold(e *entry) {
	w := m.detach(e)
	e.hold++
	m.mu.Unlock()
	w.wait()
	m.mu.Lock()
	e.hold--
}

func execNotify(ctx context.Context, program string, args []string) error {
	cmd := exec.CommandContext(ctx, program, args...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("notify command %s: %w", program, err)
	}
	return nil
}

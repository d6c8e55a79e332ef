package engine

import (
	"sort"
	"unicode/utf8"

	"github.com/google/uuid"

	"ferry/backend/bits"
)

// FileSpec is one file to add: remote, local and an optional SHA-256.
type FileSpec struct {
	RemoteName string `json:"remoteName"`
	LocalName  string `json:"localName"`
	SHA256     string `json:"sha256,omitempty"`
	// Ranges: AddFileWithRanges' byte ranges (nil: the whole file).
	Ranges []bits.Range `json:"ranges,omitempty"`
}

// CreateJob makes a new SUSPENDED job owned by the engine's user.
func (m *Manager) CreateJob(name string, typ bits.JobType) (bits.JobInfo, error) {
	if typ < bits.TypeDownload || typ > bits.TypeUploadReply {
		return bits.JobInfo{}, bits.Errorf(bits.E_INVALIDARG, "job type %d is not DOWNLOAD, UPLOAD or UPLOAD_REPLY", typ)
	}
	if utf8.RuneCountInString(name) > bits.MaxDisplayName {
		return bits.JobInfo{}, bits.Errorf(bits.E_INVALIDARG, "the display name has %d characters; the limit is %d", utf8.RuneCountInString(name), bits.MaxDisplayName)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return bits.JobInfo{}, bits.Errorf(bits.E_FAIL, "the engine is stopping")
	}
	// Jobs being created count against the limits too.
	mine, all := m.creating, m.creating
	for _, e := range m.jobs {
		if e.job.State.Final() {
			continue
		}
		all++
		if e.job.Owner == m.cfg.Owner {
			mine++
		}
	}
	if mine >= m.settings.Get(KeyMaxJobsPerUser) {
		m.mu.Unlock()
		return bits.JobInfo{}, bits.Errorf(bits.BG_E_TOO_MANY_JOBS_PER_USER, "%s already has %d jobs, the limit (setting %s)", m.cfg.Owner, mine, KeyMaxJobsPerUser)
	}
	if all >= m.settings.Get(KeyMaxJobsPerMachine) {
		m.mu.Unlock()
		return bits.JobInfo{}, bits.Errorf(bits.BG_E_TOO_MANY_JOBS_PER_MACHINE, "there are already %d jobs, the limit (setting %s)", all, KeyMaxJobsPerMachine)
	}
	now := m.clk.Now()
	j := &bits.Job{
		ID: uuid.NewString(), DisplayName: name, Type: typ, State: bits.StateSuspended,
		Priority: bits.PriorityNormal, Owner: m.cfg.Owner,
		CreationTime: now, ModificationTime: now,
		MinRetryDelay: bits.DefaultMinRetryDelay, NoProgressTimeout: bits.DefaultNoProgressTimeout,
		MaxDownloadTime: bits.DefaultMaxDownloadTime, NotifyFlags: bits.DefaultNotifyFlags,
		Connections: int(m.settings.Get(KeyConnectionsPerFile)),
		Files:       []bits.File{},
	}
	m.seq++
	e := &entry{id: j.ID, job: j, seq: m.seq}
	m.creating++
	m.mu.Unlock()
	// A new job enters memory only once its row is durable: it takes the
	// one commit path, which inserts it when installed.
	err := m.commit(e, func(c *change) error {
		c.insert = true
		c.after = func() { m.creating-- } // under mu, as the job becomes counted
		c.event(EventCreated, -1)
		return nil
	})
	if err != nil {
		m.mu.Lock()
		m.creating--
		m.mu.Unlock()
		return bits.JobInfo{}, err
	}
	return j.Info(true), nil
}

// GetJob returns a snapshot of the full job record (credentials without passwords).
func (m *Manager) GetJob(ref string) (*bits.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookup(ref)
	if err != nil {
		return nil, err
	}
	return m.view(e).Clone(), nil
}

// Info returns the public view of one job, files included.
func (m *Manager) Info(ref string) (bits.JobInfo, error) {
	m.mu.Lock()
	e, err := m.lookup(ref)
	var j *bits.Job
	if err == nil {
		j = m.view(e)
	}
	m.mu.Unlock()
	if err != nil {
		return bits.JobInfo{}, err
	}
	return j.Info(true), nil // records are immutable: rendered outside the lock
}

// List enumerates the jobs that are not final, in creation order. Ferry runs
// as one user, so allUsers lists the same jobs: every job in a FERRY_HOME
// belongs to the user who owns that directory.
func (m *Manager) List(allUsers bool, withFiles bool) []bits.JobInfo {
	jobs := m.Jobs(allUsers)
	out := make([]bits.JobInfo, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, j.Info(withFiles))
	}
	return out
}

// Jobs is List's snapshot before rendering: the records (immutable, to be
// read and never changed) of the jobs that are not final, in creation
// order, with the live progress of those transferring. A caller renders
// them one at a time (a list of 100,000 files rendered at once is 30 MB).
func (m *Manager) Jobs(allUsers bool) []*bits.Job {
	type item struct {
		seq int64
		job *bits.Job
	}
	m.mu.Lock()
	items := make([]item, 0, len(m.jobs))
	for _, e := range m.jobs {
		if e.job.State.Final() {
			continue
		}
		if !allUsers && e.job.Owner != m.cfg.Owner {
			continue
		}
		items = append(items, item{e.seq, m.view(e)})
	}
	m.mu.Unlock()
	sort.Slice(items, func(a, b int) bool { return items[a].seq < items[b].seq })
	out := make([]*bits.Job, len(items))
	for i, it := range items {
		out[i] = it.job
	}
	return out
}

// GetError is IBackgroundCopyJob::GetError.
func (m *Manager) GetError(ref string) (*bits.ErrorInfo, error) {
	in, err := m.Info(ref)
	if err != nil {
		return nil, err
	}
	if in.Error == nil {
		return nil, bits.Errorf(bits.BG_E_ERROR_INFORMATION_UNAVAILABLE, "job %s is %s and has no error", in.ID, in.State)
	}
	return in.Error, nil
}

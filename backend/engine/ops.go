package engine

import (
	"encoding/hex"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"ferry/backend/bits"
	"ferry/backend/transfer"
)

// FileSpec is one file to add: remote, local and an optional SHA-256.
type FileSpec struct {
	RemoteName string `json:"remoteName"`
	LocalName  string `json:"localName"`
	SHA256     string `json:"sha256,omitempty"`
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
	defer m.mu.Unlock()
	if m.closed {
		return bits.JobInfo{}, bits.Errorf(bits.E_FAIL, "the engine is stopping")
	}
	var mine, all int64
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
		return bits.JobInfo{}, bits.Errorf(bits.BG_E_TOO_MANY_JOBS_PER_USER, "%s already has %d jobs, the limit (setting %s)", m.cfg.Owner, mine, KeyMaxJobsPerUser)
	}
	if all >= m.settings.Get(KeyMaxJobsPerMachine) {
		return bits.JobInfo{}, bits.Errorf(bits.BG_E_TOO_MANY_JOBS_PER_MACHINE, "there are already %d jobs, the limit (setting %s)", all, KeyMaxJobsPerMachine)
	}
	now := m.clk.Now()
	j := &bits.Job{
		ID: uuid.NewString(), DisplayName: name, Type: typ, State: bits.StateSuspended,
		Priority: bits.PriorityNormal, Owner: m.cfg.Owner,
		CreationTime: now, ModificationTime: now,
		MinRetryDelay: bits.DefaultMinRetryDelay, NoProgressTimeout: bits.DefaultNoProgressTimeout,
		MaxDownloadTime: bits.DefaultMaxDownloadTime, NotifyFlags: bits.DefaultNotifyFlags,
		Files: []bits.File{},
	}
	m.seq++
	e := &entry{job: j, seq: m.seq}
	if err := m.st.SaveJob(e.seq, j); err != nil {
		return bits.JobInfo{}, bits.Errorf(bits.E_FAIL, "could not record the job: %v", err)
	}
	m.jobs[j.ID] = e
	m.emit(e, EventCreated, -1)
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
	return e.job.Clone(), nil
}

// Info returns the public view of one job, files included.
func (m *Manager) Info(ref string) (bits.JobInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookup(ref)
	if err != nil {
		return bits.JobInfo{}, err
	}
	return e.job.Info(true), nil
}

// List enumerates the jobs that are not final, in creation order. Ferry runs
// as one user, so allUsers lists the same jobs: every job in a FERRY_HOME
// belongs to the user who owns that directory.
func (m *Manager) List(allUsers bool, withFiles bool) []bits.JobInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	es := make([]*entry, 0, len(m.jobs))
	for _, e := range m.jobs {
		if e.job.State.Final() {
			continue
		}
		if !allUsers && e.job.Owner != m.cfg.Owner {
			continue
		}
		es = append(es, e)
	}
	sort.Slice(es, func(a, b int) bool { return es[a].seq < es[b].seq })
	out := make([]bits.JobInfo, 0, len(es))
	for _, e := range es {
		out = append(out, e.job.Info(withFiles))
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

// AddFile adds one file (IBackgroundCopyJob::AddFile).
func (m *Manager) AddFile(ref string, f FileSpec) error {
	return m.AddFileSet(ref, []FileSpec{f})
}

// AddFileSet adds files atomically: all of them or none.
func (m *Manager) AddFileSet(ref string, specs []FileSpec) error {
	if len(specs) == 0 {
		return bits.Errorf(bits.E_INVALIDARG, "no files to add")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookupLive(ref)
	if err != nil {
		return err
	}
	j := e.job
	if j.Type != bits.TypeDownload && len(j.Files)+len(specs) > 1 {
		return bits.Errorf(bits.BG_E_TOO_MANY_FILES, "an %s job holds exactly one file", j.Type)
	}
	if max := m.settings.Get(KeyMaxFilesPerJob); int64(len(j.Files)+len(specs)) > max {
		return bits.Errorf(bits.BG_E_TOO_MANY_FILES_IN_JOB, "the job would have %d files; the limit is %d (setting %s)", len(j.Files)+len(specs), max, KeyMaxFilesPerJob)
	}
	seen := map[string]bool{}
	for _, f := range j.Files {
		seen[f.LocalName] = true
	}
	files := make([]bits.File, 0, len(specs))
	for i, s := range specs {
		f, err := m.checkFile(j.Type, s)
		if err != nil {
			if len(specs) > 1 {
				return prefixErr(err, "file %d: ", i+1)
			}
			return err
		}
		if seen[f.LocalName] {
			return bits.Errorf(bits.E_INVALIDARG, "%s is already a local name in this job", f.LocalName)
		}
		seen[f.LocalName] = true
		files = append(files, f)
	}
	j.Files = append(j.Files, files...)
	for range files {
		e.durable = append(e.durable, 0)
	}
	if j.State == bits.StateTransferred {
		// New work in a finished job waits for Resume, as BITS' AddFile+Resume.
		j.CompletionTime = timeZero
		m.setState(e, bits.StateSuspended)
	}
	j.ModificationTime = m.clk.Now()
	m.persistJob(e)
	m.emit(e, EventModified, -1)
	return nil
}

func prefixErr(err error, format string, args ...any) error {
	var be *bits.Error
	if errors.As(err, &be) {
		return bits.Errorf(be.Code, format+"%s", append(args, be.Msg)...)
	}
	return err
}

// checkFile validates one file for a job of type t.
func (m *Manager) checkFile(t bits.JobType, s FileSpec) (bits.File, error) {
	remote := strings.TrimSpace(s.RemoteName)
	if remote == "" {
		return bits.File{}, bits.Errorf(bits.E_INVALIDARG, "the remote name is empty")
	}
	if len(remote) > bits.MaxRemoteURL {
		return bits.File{}, bits.Errorf(bits.E_INVALIDARG, "the remote name has %d characters; the limit is %d", len(remote), bits.MaxRemoteURL)
	}
	scheme, err := m.remoteScheme(remote)
	if err != nil {
		return bits.File{}, err
	}
	if t != bits.TypeDownload && scheme != "http" && scheme != "https" {
		return bits.File{}, bits.Errorf(bits.E_INVALIDARG, "uploads go to http:// or https:// URLs, not %q", remote)
	}
	local := s.LocalName
	if local == "" || !filepath.IsAbs(local) {
		return bits.File{}, bits.Errorf(bits.E_INVALIDARG, "the local name %q is not an absolute path", local)
	}
	if len(local) > bits.MaxLocalPath || strings.ContainsRune(local, 0) {
		return bits.File{}, bits.Errorf(bits.E_INVALIDARG, "the local name is not a valid path")
	}
	local = filepath.Clean(local)
	sum := strings.ToLower(strings.TrimSpace(s.SHA256))
	if sum != "" {
		if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
			return bits.File{}, bits.Errorf(bits.E_INVALIDARG, "%q is not a SHA-256 (64 hexadecimal digits)", s.SHA256)
		}
	}
	if t == bits.TypeDownload {
		if err := checkTargetDir(local); err != nil {
			return bits.File{}, err
		}
	} else {
		st, err := os.Stat(local)
		if err != nil || !st.Mode().IsRegular() {
			return bits.File{}, bits.Errorf(bits.E_INVALIDARG, "the file to upload %s does not exist or is not a regular file", local)
		}
		if err := canRead(local); err != nil {
			return bits.File{}, bits.Errorf(bits.E_ACCESSDENIED, "the file to upload %s cannot be read", local)
		}
	}
	return bits.File{RemoteName: remote, LocalName: local, BytesTotal: bits.SizeUnknown, SHA256: sum}, nil
}

func checkTargetDir(local string) error {
	if st, err := os.Stat(local); err == nil && st.IsDir() {
		return bits.Errorf(bits.E_INVALIDARG, "the local name %s is a directory; name the file", local)
	}
	dir := filepath.Dir(local)
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return bits.Errorf(bits.ERROR_PATH_NOT_FOUND, "the directory %s does not exist", dir)
	}
	if err != nil || !st.IsDir() {
		return bits.Errorf(bits.ERROR_PATH_NOT_FOUND, "%s is not a directory", dir)
	}
	if err := canWrite(dir); err != nil {
		return bits.Errorf(bits.E_ACCESSDENIED, "the directory %s is not writable", dir)
	}
	return nil
}

// remoteScheme validates a remote name and returns its driver's scheme.
func (m *Manager) remoteScheme(remote string) (string, error) {
	if filepath.IsAbs(remote) {
		if _, ok := m.drvMap[""]; ok {
			return "", nil
		}
	}
	u, err := url.Parse(remote)
	if err != nil {
		return "", bits.Errorf(bits.E_INVALIDARG, "%q is not a valid URL: %v", remote, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if _, ok := m.drvMap[scheme]; !ok || scheme == "" {
		return "", bits.Errorf(bits.E_INVALIDARG, "%q: only http://, https://, file:// URLs and absolute paths are supported", remote)
	}
	if (scheme == "http" || scheme == "https") && u.Host == "" {
		return "", bits.Errorf(bits.E_INVALIDARG, "%q has no host", remote)
	}
	if strings.ContainsAny(remote, "*?") && scheme == "file" {
		return "", bits.Errorf(bits.E_INVALIDARG, "%q: wildcards are not supported", remote)
	}
	return scheme, nil
}

// update applies a property change to a job that is not final.
func (m *Manager) update(ref string, apply func(e *entry) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookupLive(ref)
	if err != nil {
		return err
	}
	if err := apply(e); err != nil {
		return err
	}
	e.job.ModificationTime = m.clk.Now()
	m.persistRow(e)
	m.emit(e, EventModified, -1)
	m.wake()
	return nil
}

// SetDisplayName is IBackgroundCopyJob::SetDisplayName.
func (m *Manager) SetDisplayName(ref, name string) error {
	if n := utf8.RuneCountInString(name); n > bits.MaxDisplayName {
		return bits.Errorf(bits.BG_E_STRING_TOO_LONG, "the display name has %d characters; the limit is %d", n, bits.MaxDisplayName)
	}
	return m.update(ref, func(e *entry) error { e.job.DisplayName = name; return nil })
}

// SetDescription is IBackgroundCopyJob::SetDescription.
func (m *Manager) SetDescription(ref, text string) error {
	if n := utf8.RuneCountInString(text); n > bits.MaxDescription {
		return bits.Errorf(bits.BG_E_STRING_TOO_LONG, "the description has %d characters; the limit is %d", n, bits.MaxDescription)
	}
	return m.update(ref, func(e *entry) error { e.job.Description = text; return nil })
}

// SetPriority is IBackgroundCopyJob::SetPriority.
func (m *Manager) SetPriority(ref string, p bits.JobPriority) error {
	if p < bits.PriorityForeground || p > bits.PriorityLow {
		return bits.Errorf(bits.E_NOTIMPL, "priority %d is not FOREGROUND, HIGH, NORMAL or LOW", p)
	}
	return m.update(ref, func(e *entry) error {
		if e.job.HTTPMethod != "" && p != bits.PriorityForeground {
			return bits.Errorf(bits.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD, "a job with a custom HTTP method stays FOREGROUND")
		}
		e.job.Priority = p
		return nil
	})
}

// SetNotifyFlags is IBackgroundCopyJob::SetNotifyFlags.
func (m *Manager) SetNotifyFlags(ref string, f bits.NotifyFlags) error {
	if !f.Valid() {
		return bits.Errorf(bits.E_NOTIMPL, "0x%X has bits that are not BG_NOTIFY flags (0x1 transferred, 0x2 error, 0x4 disable, 0x8 modification, 0x10 file transferred, 0x20 file ranges transferred)", uint32(f))
	}
	return m.update(ref, func(e *entry) error { e.job.NotifyFlags = f; return nil })
}

// SetNotifyCmdLine is IBackgroundCopyJob2::SetNotifyCmdLine; an empty program
// and parameters clear it. The program runs without a shell or PATH search.
func (m *Manager) SetNotifyCmdLine(ref, program, parameters string) error {
	var cl *bits.NotifyCmdLine
	switch {
	case program == "" && parameters == "":
	case program == "":
		return bits.Errorf(bits.E_INVALIDARG, "parameters were given without a program")
	default:
		if !filepath.IsAbs(program) {
			return bits.Errorf(bits.E_INVALIDARG, "the program %q must be an absolute path (there is no PATH search)", program)
		}
		if len(program) > bits.MaxNotifyProgram {
			return bits.Errorf(bits.BG_E_STRING_TOO_LONG, "the program path is longer than %d characters", bits.MaxNotifyProgram)
		}
		if len(parameters) > bits.MaxNotifyParameters {
			return bits.Errorf(bits.BG_E_STRING_TOO_LONG, "the parameters are longer than %d characters", bits.MaxNotifyParameters)
		}
		if _, err := SplitCommandLine(parameters); err != nil {
			return err
		}
		cl = &bits.NotifyCmdLine{Program: program, Parameters: parameters}
	}
	err := m.update(ref, func(e *entry) error {
		e.job.NotifyCmdLine = cl
		e.job.NotifyAttemptAt = timeZero
		return nil
	})
	if err == nil {
		m.mu.Lock()
		if e, lerr := m.lookup(ref); lerr == nil {
			m.maybeNotify(e) // fires even when set after the event, as BITS
		}
		m.mu.Unlock()
	}
	return err
}

// SetMinimumRetryDelay is IBackgroundCopyJob::SetMinimumRetryDelay.
func (m *Manager) SetMinimumRetryDelay(ref string, seconds int64) error {
	if seconds < 0 || seconds > 1<<32-1 {
		return bits.Errorf(bits.E_INVALIDARG, "the retry delay must be 0 to 4294967295 seconds")
	}
	if seconds < bits.MinMinRetryDelay {
		seconds = bits.MinMinRetryDelay // BITS raises small values silently
	}
	return m.update(ref, func(e *entry) error { e.job.MinRetryDelay = seconds; return nil })
}

// SetNoProgressTimeout is IBackgroundCopyJob::SetNoProgressTimeout (0 = no retries).
func (m *Manager) SetNoProgressTimeout(ref string, seconds int64) error {
	if seconds < 0 || seconds > 1<<32-1 {
		return bits.Errorf(bits.E_INVALIDARG, "the no-progress timeout must be 0 to 4294967295 seconds")
	}
	return m.update(ref, func(e *entry) error { e.job.NoProgressTimeout = seconds; return nil })
}

// SetMaximumDownloadTime is IBackgroundCopyJob4::SetMaximumDownloadTime (0 = no limit).
func (m *Manager) SetMaximumDownloadTime(ref string, seconds int64) error {
	if seconds < 0 || seconds > 1<<32-1 {
		return bits.Errorf(bits.E_INVALIDARG, "the maximum download time must be 0 to 4294967295 seconds")
	}
	return m.update(ref, func(e *entry) error { e.job.MaxDownloadTime = seconds; return nil })
}

// SetProxySettings is IBackgroundCopyJob::SetProxySettings.
func (m *Manager) SetProxySettings(ref string, usage bits.ProxyUsage, list, bypass string) error {
	if usage < bits.ProxyPreconfig || usage > bits.ProxyAutodetect {
		return bits.Errorf(bits.E_NOTIMPL, "proxy usage %d is not PRECONFIG, NO_PROXY, OVERRIDE or AUTODETECT", usage)
	}
	if len(list) > bits.MaxProxyList {
		return bits.Errorf(bits.BG_E_PROXY_LIST_TOO_LARGE, "the proxy list has %d characters; the limit is %d", len(list), bits.MaxProxyList)
	}
	if len(bypass) > bits.MaxProxyList {
		return bits.Errorf(bits.BG_E_PROXY_BYPASS_LIST_TOO_LARGE, "the bypass list has %d characters; the limit is %d", len(bypass), bits.MaxProxyList)
	}
	if usage != bits.ProxyOverride && (list != "" || bypass != "") {
		return bits.Errorf(bits.E_INVALIDARG, "a proxy list or bypass list goes only with OVERRIDE")
	}
	if usage == bits.ProxyOverride {
		if strings.TrimSpace(list) == "" {
			return bits.Errorf(bits.E_INVALIDARG, "OVERRIDE needs a proxy list")
		}
		if err := transfer.ValidateProxyList(list, bypass); err != nil {
			return bits.Errorf(bits.BG_E_INVALID_PROXY_INFO, "%v", err)
		}
	}
	return m.update(ref, func(e *entry) error {
		e.job.Proxy = bits.ProxySettings{Usage: usage, List: list, Bypass: bypass}
		m.restartIfActive(e)
		return nil
	})
}

// SetDynamic is Job5's BITS_JOB_PROPERTY_DYNAMIC_CONTENT.
func (m *Manager) SetDynamic(ref string, on bool) error {
	return m.update(ref, func(e *entry) error {
		if e.job.Type != bits.TypeDownload {
			return bits.Errorf(bits.BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY, "dynamic content applies to download jobs only")
		}
		if e.job.EverResumed {
			return bits.Errorf(bits.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, "dynamic content can be set only before the job is first resumed")
		}
		e.job.Dynamic = on
		return nil
	})
}

// ReplaceRemotePrefix is IBackgroundCopyJob3::ReplaceRemotePrefix. It
// returns S_FALSE when no file matched.
func (m *Manager) ReplaceRemotePrefix(ref, oldPrefix, newPrefix string) (bits.HRESULT, error) {
	if oldPrefix == "" || newPrefix == "" {
		return 0, bits.Errorf(bits.E_INVALIDARG, "both prefixes must be non-empty")
	}
	result := bits.S_FALSE
	err := m.update(ref, func(e *entry) error {
		j := e.job
		if j.Type != bits.TypeDownload {
			return bits.Errorf(bits.E_NOTIMPL, "ReplaceRemotePrefix applies to download jobs only")
		}
		next := make([]string, len(j.Files))
		for i, f := range j.Files {
			next[i] = f.RemoteName
			if f.Transferred || !strings.HasPrefix(f.RemoteName, oldPrefix) {
				continue
			}
			n := newPrefix + strings.TrimPrefix(f.RemoteName, oldPrefix)
			if len(n) > bits.MaxRemoteURL {
				return bits.Errorf(bits.E_INVALIDARG, "the new remote name of file %d would be longer than %d characters", i+1, bits.MaxRemoteURL)
			}
			if _, err := m.remoteScheme(n); err != nil {
				return prefixErr(err, "file %d: ", i+1)
			}
			next[i] = n
		}
		changed := false
		for i := range j.Files {
			if j.Files[i].RemoteName != next[i] {
				j.Files[i].RemoteName = next[i]
				changed = true
			}
		}
		if !changed {
			return nil
		}
		result = bits.S_OK
		m.persistJob(e)
		m.restartIfActive(e)
		return nil
	})
	return result, err
}

// restartIfActive sends a transferring job back to the queue so that its new
// settings apply (caller holds mu).
func (m *Manager) restartIfActive(e *entry) {
	if e.worker != nil {
		m.detach(e)
		m.setState(e, bits.StateQueued)
	}
}

// TakeOwnership is IBackgroundCopyJob::TakeOwnership: the caller becomes the
// owner, and credentials, custom headers and the notify command line go.
func (m *Manager) TakeOwnership(ref string) error {
	return m.update(ref, func(e *entry) error {
		e.job.Owner = m.cfg.Owner
		e.job.Credentials = nil
		e.job.CustomHeaders = ""
		e.job.NotifyCmdLine = nil
		e.job.ClientCert = nil
		if err := m.st.DeleteSecrets(e.job.ID, ""); err != nil {
			return bits.Errorf(bits.E_FAIL, "could not remove the credentials: %v", err)
		}
		return nil
	})
}

// Resume is IBackgroundCopyJob::Resume.
func (m *Manager) Resume(ref string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookupLive(ref)
	if err != nil {
		return err
	}
	j := e.job
	if len(j.Files) == 0 {
		return bits.Errorf(bits.BG_E_EMPTY, "job %s has no files; add one first", j.ID)
	}
	switch j.State {
	case bits.StateSuspended, bits.StateError, bits.StateTransientError:
		j.EverResumed = true
		j.ActiveTime = 0 // Resume restarts the maximum-download-time clock
		j.NoProgressSince = timeZero
		j.RetryAt = timeZero
		m.setState(e, bits.StateQueued)
		m.persistJob(e)
		m.emit(e, EventModified, -1)
		m.wake()
	}
	return nil
}

// Suspend is IBackgroundCopyJob::Suspend (a no-op when already suspended).
func (m *Manager) Suspend(ref string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookupLive(ref)
	if err != nil {
		return err
	}
	if e.job.State == bits.StateSuspended {
		return nil
	}
	m.detach(e)
	m.setState(e, bits.StateSuspended)
	m.persistRow(e)
	m.emit(e, EventModified, -1)
	m.wake()
	return nil
}

// Cancel is IBackgroundCopyJob::Cancel: the job's temporary files go, files
// already committed by Complete stay. BG_S_UNABLE_TO_DELETE_FILES if some
// temporary file could not be removed.
func (m *Manager) Cancel(ref string) (bits.HRESULT, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookupLive(ref)
	if err != nil {
		return 0, err
	}
	m.stopAndHold(e)
	if e.job.State.Final() {
		return 0, bits.Errorf(bits.BG_E_INVALID_STATE, "job %s is already %s", e.job.ID, e.job.State)
	}
	res := m.cancelNow(e)
	m.wake()
	return res, nil
}

// cancelNow removes the job's temporary files (and its upload session) and
// makes it CANCELLED; its transfer must be stopped. Caller holds mu.
func (m *Manager) cancelNow(e *entry) bits.HRESULT {
	res := bits.S_OK
	for i := range e.job.Files {
		if !m.removeTemp(e, i) {
			res = bits.BG_S_UNABLE_TO_DELETE_FILES
		}
	}
	if !m.cancelUpload(e) { // upload.go: the reply's temporary file, Cancel-Session
		res = bits.BG_S_UNABLE_TO_DELETE_FILES
	}
	m.setState(e, bits.StateCancelled)
	m.persistJob(e)
	m.emit(e, EventCancelled, -1)
	return res
}

// removeTemp deletes file i's temporary file, if Ferry created one (caller holds mu).
func (m *Manager) removeTemp(e *entry, i int) bool {
	f := &e.job.Files[i]
	if f.TempName == "" || f.Committed {
		return true
	}
	err := os.Remove(f.TempName)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		m.log.Warn("could not remove temporary file", "job", e.job.ID, "file", f.TempName, "err", err)
		return false
	}
	f.TempName = ""
	return true
}

// Complete is IBackgroundCopyJob::Complete: every transferred file is renamed
// onto its local name and the job is ACKNOWLEDGED; files not transferred are
// dropped (BG_S_PARTIAL_COMPLETE). A failed rename leaves the job as it was.
func (m *Manager) Complete(ref string) (bits.HRESULT, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookupLive(ref)
	if err != nil {
		return 0, err
	}
	if e.job.Type != bits.TypeDownload && e.job.State != bits.StateTransferred {
		return 0, bits.Errorf(bits.BG_E_INVALID_STATE, "an upload job can be completed only once TRANSFERRED; it is %s", e.job.State)
	}
	m.stopAndHold(e)
	j := e.job
	if j.State.Final() {
		return 0, bits.Errorf(bits.BG_E_INVALID_STATE, "job %s is already %s", j.ID, j.State)
	}
	if j.State.Active() {
		m.setState(e, bits.StateQueued)
	}
	res := bits.S_OK
	if j.Type == bits.TypeDownload {
		for i := range j.Files {
			f := &j.Files[i]
			if f.Committed {
				continue
			}
			if !f.Transferred {
				m.removeTemp(e, i)
				res = bits.BG_S_PARTIAL_COMPLETE
				continue
			}
			if err := commitFile(f); err != nil {
				m.persistJob(e)
				m.wake()
				return 0, bits.Errorf(bits.E_ACCESSDENIED, "could not move %s into place: %v; the job stays %s, retry Complete or Cancel", f.LocalName, err, j.State)
			}
			f.Committed = true
			f.TempName = ""
		}
	}
	if err := m.commitReply(e); err != nil { // upload.go: upload-reply jobs
		m.persistJob(e)
		m.wake()
		return 0, err
	}
	m.setState(e, bits.StateAcknowledged)
	m.persistJob(e)
	m.emit(e, EventAcknowledged, -1)
	m.wake()
	return res, nil
}

// commitFile renames the temporary file onto the local name and makes the
// rename durable.
func commitFile(f *bits.File) error {
	if f.TempName == "" {
		return errors.New("the temporary file is missing")
	}
	if !f.ModTime.IsZero() {
		_ = os.Chtimes(f.TempName, f.ModTime, f.ModTime) // the server's time, as BITS
	}
	if err := os.Rename(f.TempName, f.LocalName); err != nil {
		return err
	}
	return syncDir(filepath.Dir(f.LocalName))
}

package bits

import (
	"slices"
	"time"
)

// SizeUnknown is BG_SIZE_UNKNOWN as the JSON surface prints it.
const SizeUnknown int64 = -1

// Defaults and limits of bits-reference §3.
const (
	DefaultMinRetryDelay     = 600     // seconds
	MinMinRetryDelay         = 5       // smaller values are raised to this
	DefaultNoProgressTimeout = 1209600 // 14 days
	DefaultMaxDownloadTime   = 7776000 // 90 days
	DefaultNotifyFlags       = NotifyJobTransferred | NotifyJobError
	MaxDisplayName           = 256
	MaxDescription           = 1024
	MaxRemoteURL             = 2200
	MaxLocalPath             = 4096 // PATH_MAX on unix; BITS' 260 is a Windows limit
	MaxProxyList             = 4000
	MaxNotifyProgram         = 4096
	MaxNotifyParameters      = 4000
	MaxCustomHeaders         = 16384
	MaxUserName              = 300
	MaxPassword              = 65536
	MaxReplyData             = 1 << 20
)

// Validator identifies one version of a remote file: a resumed transfer may
// only continue while it still matches.
type Validator struct {
	Size         int64  `json:"size"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
}

// Zero reports an empty validator.
func (v Validator) Zero() bool { return v == Validator{} }

// Segment is one byte range of a file fetched over its own connection:
// [Start, End) of the file, of which [Start, Done) is durable. Done is
// recorded only after the bytes below it were fsynced.
type Segment struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	Done  int64 `json:"done"`
}

// SegmentBytes is the number of durable bytes in segs.
func SegmentBytes(segs []Segment) int64 {
	var n int64
	for _, s := range segs {
		n += s.Done - s.Start
	}
	return n
}

// MaxConnections bounds CONNECTIONS, Ferry's own Job5-style property.
const MaxConnections = 16

// File is one remote ↔ local pair of a job, with its durable progress.
type File struct {
	RemoteName       string    `json:"remoteName"`
	LocalName        string    `json:"localName"`
	BytesTotal       int64     `json:"bytesTotal"`
	BytesTransferred int64     `json:"bytesTransferred"`
	Transferred      bool      `json:"transferred"` // every byte is in the temp file (and verified)
	Committed        bool      `json:"committed"`   // renamed onto LocalName by Complete
	TempName         string    `json:"tempName,omitempty"`
	TempID           string    `json:"tempId,omitempty"` // the temporary file's identity at creation (pinned.ID)
	DirID            string    `json:"dirId,omitempty"`  // the local name's directory's identity at AddFile
	SHA256           string    `json:"sha256,omitempty"`
	Validator        Validator `json:"validator"`
	ModTime          time.Time `json:"modTime,omitempty"` // server's Last-Modified, applied on Complete
	// Segments is the durable state of a download over several
	// connections (nil for one stream, whose offset is BytesTransferred).
	Segments []Segment `json:"segments,omitempty"`
	// Ranges are AddFileWithRanges' byte ranges of the remote file, written
	// back to back into the local file in this order (nil: the whole file).
	Ranges []Range `json:"ranges,omitempty"`
	// Validation is File3's validation state: "" (not set), "true" (set
	// TRUE, or the file was completed) or "false" (set FALSE, or its
	// SHA-256 did not match: the content was dropped).
	Validation string `json:"validation,omitempty"`
}

// Equal reports two identical file records.
func (f File) Equal(g File) bool {
	return f.RemoteName == g.RemoteName && f.LocalName == g.LocalName && f.BytesTotal == g.BytesTotal &&
		f.BytesTransferred == g.BytesTransferred && f.Transferred == g.Transferred && f.Committed == g.Committed &&
		f.TempName == g.TempName && f.TempID == g.TempID && f.DirID == g.DirID && f.SHA256 == g.SHA256 &&
		f.Validator == g.Validator && f.ModTime.Equal(g.ModTime) && f.ModTime.Location() == g.ModTime.Location() &&
		slices.Equal(f.Segments, g.Segments) && f.Validation == g.Validation && slices.Equal(f.Ranges, g.Ranges)
}

// Range is BG_FILE_RANGE: Length -1 (BG_LENGTH_TO_EOF) runs to the end of
// the remote file.
type Range struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

// LengthToEOF is BG_LENGTH_TO_EOF as a Range's Length.
const LengthToEOF = -1

// ClientCert names a client certificate and its private key, both PEM
// files; only the paths are recorded, never the key.
type ClientCert struct {
	CertFile string `json:"certFile"`
	KeyFile  string `json:"keyFile"`
}

// UploadSession is the durable state of an upload job's BITS session
// (bits-reference §14), so that a restarted engine resumes the same session.
type UploadSession struct {
	SessionID string `json:"sessionId,omitempty"`
	// Acked is the server's last BITS-Received-Content-Range.
	Acked int64 `json:"acked"`
	// FileSize and FileModTime identify the local file the session started
	// with: a change means BG_E_LOCAL_FILE_CHANGED.
	FileSize    int64     `json:"fileSize"`
	FileModTime time.Time `json:"fileModTime,omitzero"`
	// UploadDone: the server acknowledged the last fragment.
	UploadDone bool `json:"uploadDone,omitempty"`
	// ReplyURL is the BITS-Reply-URL of the last fragment's Ack.
	ReplyURL string `json:"replyUrl,omitempty"`
	// ReplyTemp holds the reply until Complete renames it onto ReplyFileName.
	ReplyTemp string `json:"replyTemp,omitempty"`
	// ReplyTotal is BG_JOB_REPLY_PROGRESS.BytesTotal: -1 until the reply
	// transfer begins.
	ReplyTotal       int64 `json:"replyTotal"`
	ReplyTransferred int64 `json:"replyTransferred"`
	ReplyDone        bool  `json:"replyDone,omitempty"`
	// Closed: the server acknowledged Close-Session.
	Closed bool `json:"closed,omitempty"`
}

// NotifyCmdLine is Job2's command line: run with argv, never a shell.
type NotifyCmdLine struct {
	Program    string `json:"program"`
	Parameters string `json:"parameters"`
}

// ProxySettings is SetProxySettings' triple.
type ProxySettings struct {
	Usage  ProxyUsage `json:"usage"`
	List   string     `json:"list"`
	Bypass string     `json:"bypass"`
}

// Credential is one (target, scheme) credential; the password is kept
// sealed by the store and never leaves the engine.
type Credential struct {
	Target   AuthTarget `json:"target"`
	Scheme   AuthScheme `json:"scheme"`
	UserName string     `json:"userName"`
	Password string     `json:"-"`
}

// JobError is the IBackgroundCopyError snapshot.
type JobError struct {
	Context     ErrorContext `json:"context"`
	Code        HRESULT      `json:"code"`
	Protocol    string       `json:"protocol,omitempty"`
	FileIndex   int          `json:"fileIndex"` // -1 when the error concerns no file
	Description string       `json:"description,omitempty"`
}

// Job is the engine's full record of one job, as persisted.
type Job struct {
	ID                string         `json:"id"`
	DisplayName       string         `json:"displayName"`
	Description       string         `json:"description"`
	Type              JobType        `json:"type"`
	State             JobState       `json:"state"`
	Priority          JobPriority    `json:"priority"`
	Owner             string         `json:"owner"`
	CreationTime      time.Time      `json:"creationTime"`
	ModificationTime  time.Time      `json:"modificationTime"`
	CompletionTime    time.Time      `json:"completionTime,omitempty"`
	ErrorCount        int            `json:"errorCount"`
	Error             *JobError      `json:"error,omitempty"`
	MinRetryDelay     int64          `json:"minRetryDelay"`
	NoProgressTimeout int64          `json:"noProgressTimeout"`
	MaxDownloadTime   int64          `json:"maxDownloadTime"`
	NotifyFlags       NotifyFlags    `json:"notifyFlags"`
	NotifyCmdLine     *NotifyCmdLine `json:"notifyCmdLine,omitempty"`
	Proxy             ProxySettings  `json:"proxy"`
	Dynamic           bool           `json:"dynamic"`
	// Job5 properties (engine/ops_props.go): MAX_DOWNLOAD_SIZE (0: none)
	// and MINIMUM_NOTIFICATION_INTERVAL_MS (0: the engine's default).
	MaxDownloadSize  int64 `json:"maxDownloadSize,omitempty"`
	NotifyIntervalMS int64 `json:"notifyIntervalMs,omitempty"`
	// HighPerformance is HIGH_PERFORMANCE: files are written in place
	// (their TempName is their LocalName, created O_EXCL) and the progress
	// of a file being written is not checkpointed periodically.
	HighPerformance bool `json:"highPerformance,omitempty"`
	// Connections is CONNECTIONS: how many connections one file may use
	// (1–16; 0 in records older than the property means 1).
	Connections   int    `json:"connections,omitempty"`
	CustomHeaders string `json:"customHeaders,omitempty"`
	// HeadersWriteOnly: MakeCustomHeadersWriteOnly was called; the
	// headers are sent but never shown again.
	HeadersWriteOnly bool         `json:"headersWriteOnly,omitempty"`
	HTTPMethod       string       `json:"httpMethod,omitempty"`
	ReplyFileName    string       `json:"replyFileName,omitempty"`
	Credentials      []Credential `json:"credentials,omitempty"`
	Files            []File       `json:"files"`
	// SecurityFlags is IBackgroundCopyJobHttpOptions' BG_SSL_* and
	// BG_HTTP_REDIRECT_POLICY_* mask.
	SecurityFlags uint32 `json:"securityFlags,omitempty"`
	// CostFlags is COST_FLAGS, the costs of network the job may transfer
	// on (0 in records older than the property: DefaultCostFlags).
	CostFlags CostState `json:"costFlags,omitempty"`
	// ClientCert is the job's client certificate: Ferry's stand-in for
	// BITS' certificate store reference is a pair of PEM files.
	ClientCert *ClientCert `json:"clientCert,omitempty"`
	// Upload is the BITS upload session of an UPLOAD or UPLOAD_REPLY job.
	Upload *UploadSession `json:"upload,omitempty"`

	// Completing: Complete recorded that it is about to rename the job's
	// transferred files; a temporary file found gone then means its rename
	// happened.
	Completing bool `json:"completing,omitempty"`

	// Scheduling bookkeeping, persisted so that timers survive restarts.
	EverResumed     bool          `json:"everResumed"`
	RetryAt         time.Time     `json:"retryAt,omitempty"`         // TRANSIENT_ERROR: when to re-queue
	NoProgressSince time.Time     `json:"noProgressSince,omitempty"` // first transient error with no bytes since
	ActiveTime      time.Duration `json:"activeTime"`                // CONNECTING+TRANSFERRING since last Resume
	NotifyEpoch     int           `json:"notifyEpoch"`               // bumped on entering TRANSFERRED or ERROR
	NotifyDoneEpoch int           `json:"notifyDoneEpoch"`           // epoch whose command line exited 0
	NotifyAttemptAt time.Time     `json:"notifyAttemptAt,omitempty"` // earliest next command line attempt
	FinalTime       time.Time     `json:"finalTime,omitempty"`       // when it became ACKNOWLEDGED/CANCELLED

	// ConnectionsInUse is live, never recorded: the connections the
	// transfer holds open now (views fill it in).
	ConnectionsInUse int `json:"-"`
}

// CostFlagsOrDefault is COST_FLAGS, BITS' default for records without it.
func (j *Job) CostFlagsOrDefault() CostState {
	if j.CostFlags == 0 {
		return DefaultCostFlags
	}
	return j.CostFlags
}

// ConnectionsOrDefault is CONNECTIONS, 1 for records without it.
func (j *Job) ConnectionsOrDefault() int {
	if j.Connections < 1 {
		return 1
	}
	return j.Connections
}

// Clone returns a deep copy, so that snapshots never alias engine state.
func (j *Job) Clone() *Job {
	c := *j
	c.Files = append([]File(nil), j.Files...)
	for i := range c.Files {
		if c.Files[i].Segments != nil {
			c.Files[i].Segments = append([]Segment(nil), c.Files[i].Segments...)
		}
	}
	c.Credentials = append([]Credential(nil), j.Credentials...)
	if j.Error != nil {
		e := *j.Error
		c.Error = &e
	}
	if j.NotifyCmdLine != nil {
		n := *j.NotifyCmdLine
		c.NotifyCmdLine = &n
	}
	if j.ClientCert != nil {
		cc := *j.ClientCert
		c.ClientCert = &cc
	}
	if j.Upload != nil {
		u := *j.Upload
		c.Upload = &u
	}
	return &c
}

// Progress is BG_JOB_PROGRESS. BytesTotal stays unknown while any file is unsized.
func (j *Job) Progress() JobProgress {
	p := JobProgress{FilesTotal: len(j.Files)}
	for _, f := range j.Files {
		p.BytesTransferred += f.BytesTransferred
		if f.BytesTotal < 0 || p.BytesTotal < 0 {
			p.BytesTotal = SizeUnknown
		} else {
			p.BytesTotal += f.BytesTotal
		}
		if f.Transferred {
			p.FilesTransferred++
		}
	}
	return p
}

// JobProgress is the "progress" object of cli.md.
type JobProgress struct {
	BytesTotal       int64 `json:"bytesTotal"`
	BytesTransferred int64 `json:"bytesTransferred"`
	FilesTotal       int   `json:"filesTotal"`
	FilesTransferred int   `json:"filesTransferred"`
}

// JobTimes is the "times" object of cli.md (null for a time not reached).
type JobTimes struct {
	CreationTime           *time.Time `json:"creationTime"`
	ModificationTime       *time.Time `json:"modificationTime"`
	TransferCompletionTime *time.Time `json:"transferCompletionTime"`
}

// FileInfo is one entry of cli.md's "files" array.
type FileInfo struct {
	RemoteName       string `json:"remoteName"`
	LocalName        string `json:"localName"`
	BytesTotal       int64  `json:"bytesTotal"`
	BytesTransferred int64  `json:"bytesTransferred"`
	Completed        bool   `json:"completed"`
	// Ranges are the ranges given to AddFileWithRanges (null: the whole file).
	Ranges []Range `json:"ranges"`
}

// ErrorFile names the file an error concerns.
type ErrorFile struct {
	RemoteName string `json:"remoteName"`
	LocalName  string `json:"localName"`
}

// ErrorInfo is cli.md's "error" object.
type ErrorInfo struct {
	Context     ErrorContext `json:"context"`
	Code        HRESULT      `json:"code"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Protocol    *string      `json:"protocol"`
	File        *ErrorFile   `json:"file"`
}

// JobInfo is the public shape of a job: exactly cli.md's JSON.
type JobInfo struct {
	ID                string         `json:"id"`
	DisplayName       string         `json:"displayName"`
	Description       string         `json:"description"`
	Type              JobType        `json:"type"`
	State             JobState       `json:"state"`
	Priority          JobPriority    `json:"priority"`
	Owner             string         `json:"owner"`
	Progress          JobProgress    `json:"progress"`
	Times             JobTimes       `json:"times"`
	ErrorCount        int            `json:"errorCount"`
	Error             *ErrorInfo     `json:"error"`
	MinRetryDelay     int64          `json:"minRetryDelay"`
	NoProgressTimeout int64          `json:"noProgressTimeout"`
	MaxDownloadTime   int64          `json:"maxDownloadTime"`
	NotifyFlags       NotifyFlags    `json:"notifyFlags"`
	NotifyCmdLine     *NotifyCmdLine `json:"notifyCmdLine"`
	Proxy             ProxySettings  `json:"proxy"`
	Dynamic           bool           `json:"dynamic"`
	CostFlags         uint32         `json:"costFlags"` // COST_FLAGS (a BITS_JOB_TRANSFER_POLICY)
	// Connections is CONNECTIONS (Ferry's own property: connections per
	// file); ConnectionsInUse the connections the transfer holds now.
	Connections      int        `json:"connections"`
	ConnectionsInUse int        `json:"connectionsInUse"`
	Files            []FileInfo `json:"files,omitzero"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Second)
	return &u
}

// Info renders the public view; files are included when withFiles is set.
func (j *Job) Info(withFiles bool) JobInfo {
	in := JobInfo{
		ID: j.ID, DisplayName: j.DisplayName, Description: j.Description,
		Type: j.Type, State: j.State, Priority: j.Priority, Owner: j.Owner,
		Progress: j.Progress(),
		Times: JobTimes{
			CreationTime:           timePtr(j.CreationTime),
			ModificationTime:       timePtr(j.ModificationTime),
			TransferCompletionTime: timePtr(j.CompletionTime),
		},
		ErrorCount: j.ErrorCount, MinRetryDelay: j.MinRetryDelay,
		NoProgressTimeout: j.NoProgressTimeout, MaxDownloadTime: j.MaxDownloadTime,
		NotifyFlags: j.NotifyFlags, Proxy: j.Proxy, Dynamic: j.Dynamic,
		Connections: j.ConnectionsOrDefault(), ConnectionsInUse: j.ConnectionsInUse,
		CostFlags: uint32(j.CostFlagsOrDefault()),
	}
	if j.NotifyCmdLine != nil {
		n := *j.NotifyCmdLine
		in.NotifyCmdLine = &n
	}
	if j.Error != nil && (j.State == StateError || j.State == StateTransientError) {
		e := j.Error
		ei := &ErrorInfo{Context: e.Context, Code: e.Code, Name: e.Code.Name(), Description: e.Description}
		if ei.Description == "" {
			ei.Description = e.Code.Description()
		}
		if e.Protocol != "" {
			p := e.Protocol
			ei.Protocol = &p
		}
		if e.FileIndex >= 0 && e.FileIndex < len(j.Files) {
			f := j.Files[e.FileIndex]
			ei.File = &ErrorFile{RemoteName: f.RemoteName, LocalName: f.LocalName}
		}
		in.Error = ei
	}
	if withFiles {
		in.Files = j.FileInfos()
	}
	return in
}

// FileInfos renders the files array (never nil, so JSON prints []).
func (j *Job) FileInfos() []FileInfo {
	out := make([]FileInfo, 0, len(j.Files))
	for _, f := range j.Files {
		out = append(out, FileInfo{RemoteName: f.RemoteName, LocalName: f.LocalName,
			BytesTotal: f.BytesTotal, BytesTransferred: f.BytesTransferred, Completed: f.Transferred, Ranges: f.Ranges})
	}
	return out
}

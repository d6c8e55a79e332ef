package bits

import (
	"encoding/json"
	"fmt"
	"strings"
)

// JobState is BG_JOB_STATE with BITS' numbers.
type JobState int

const (
	StateQueued JobState = iota
	StateConnecting
	StateTransferring
	StateSuspended
	StateError
	StateTransientError
	StateTransferred
	StateAcknowledged
	StateCancelled
)

var stateNames = []string{"QUEUED", "CONNECTING", "TRANSFERRING", "SUSPENDED", "ERROR", "TRANSIENT_ERROR", "TRANSFERRED", "ACKNOWLEDGED", "CANCELLED"}

func (s JobState) String() string               { return enumString(stateNames, int(s)) }
func (s JobState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
func (s *JobState) UnmarshalText(b []byte) error {
	return enumParse(stateNames, "state", string(b), (*int)(s))
}

// Final reports ACKNOWLEDGED and CANCELLED: read-only, gone from enumeration.
func (s JobState) Final() bool { return s == StateAcknowledged || s == StateCancelled }

// Active reports the states in which the scheduler owns the job.
func (s JobState) Active() bool { return s == StateConnecting || s == StateTransferring }

// JobPriority is BG_JOB_PRIORITY.
type JobPriority int

const (
	PriorityForeground JobPriority = iota
	PriorityHigh
	PriorityNormal
	PriorityLow
)

var priorityNames = []string{"FOREGROUND", "HIGH", "NORMAL", "LOW"}

func (p JobPriority) String() string               { return enumString(priorityNames, int(p)) }
func (p JobPriority) MarshalText() ([]byte, error) { return []byte(p.String()), nil }
func (p *JobPriority) UnmarshalText(b []byte) error {
	return enumParse(priorityNames, "priority", string(b), (*int)(p))
}

// ParsePriority accepts foreground|high|normal|low in any case.
func ParsePriority(s string) (JobPriority, error) {
	var p JobPriority
	err := p.UnmarshalText([]byte(s))
	return p, err
}

// JobType is BG_JOB_TYPE.
type JobType int

const (
	TypeDownload JobType = iota
	TypeUpload
	TypeUploadReply
)

var typeNames = []string{"DOWNLOAD", "UPLOAD", "UPLOAD_REPLY"}

func (t JobType) String() string               { return enumString(typeNames, int(t)) }
func (t JobType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }
func (t *JobType) UnmarshalText(b []byte) error {
	return enumParse(typeNames, "job type", strings.ReplaceAll(string(b), "-", "_"), (*int)(t))
}

// ProxyUsage is BG_JOB_PROXY_USAGE.
type ProxyUsage int

const (
	ProxyPreconfig ProxyUsage = iota
	ProxyNoProxy
	ProxyOverride
	ProxyAutodetect
)

var proxyNames = []string{"PRECONFIG", "NO_PROXY", "OVERRIDE", "AUTODETECT"}

func (u ProxyUsage) String() string               { return enumString(proxyNames, int(u)) }
func (u ProxyUsage) MarshalText() ([]byte, error) { return []byte(u.String()), nil }
func (u *ProxyUsage) UnmarshalText(b []byte) error {
	return enumParse(proxyNames, "proxy usage", string(b), (*int)(u))
}

// ErrorContext is BG_ERROR_CONTEXT.
type ErrorContext int

const (
	ContextNone ErrorContext = iota
	ContextUnknown
	ContextGeneralQueueManager
	ContextQueueManagerNotification
	ContextLocalFile
	ContextRemoteFile
	ContextGeneralTransport
	ContextRemoteApplication
)

var contextNames = []string{"NONE", "UNKNOWN", "GENERAL_QUEUE_MANAGER", "QUEUE_MANAGER_NOTIFICATION", "LOCAL_FILE", "REMOTE_FILE", "GENERAL_TRANSPORT", "REMOTE_APPLICATION"}

func (c ErrorContext) String() string               { return enumString(contextNames, int(c)) }
func (c ErrorContext) MarshalText() ([]byte, error) { return []byte(c.String()), nil }
func (c *ErrorContext) UnmarshalText(b []byte) error {
	return enumParse(contextNames, "error context", string(b), (*int)(c))
}

// NotifyFlags is the BG_NOTIFY_* mask.
type NotifyFlags uint32

const (
	NotifyJobTransferred        NotifyFlags = 0x1
	NotifyJobError              NotifyFlags = 0x2
	NotifyDisable               NotifyFlags = 0x4
	NotifyJobModification       NotifyFlags = 0x8
	NotifyFileTransferred       NotifyFlags = 0x10
	NotifyFileRangesTransferred NotifyFlags = 0x20
	notifyAll                               = 0x3F
)

// Valid reports whether only defined bits are set.
func (f NotifyFlags) Valid() bool { return f&^notifyAll == 0 }

// Wants reports whether an event class passes the mask (DISABLE overrides all).
func (f NotifyFlags) Wants(bit NotifyFlags) bool { return f&NotifyDisable == 0 && f&bit != 0 }

// AuthTarget is BG_AUTH_TARGET.
type AuthTarget int

const (
	AuthTargetServer AuthTarget = 1
	AuthTargetProxy  AuthTarget = 2
)

// AuthScheme is BG_AUTH_SCHEME.
type AuthScheme int

const (
	AuthBasic     AuthScheme = 1
	AuthDigest    AuthScheme = 2
	AuthNTLM      AuthScheme = 3
	AuthNegotiate AuthScheme = 4
	AuthPassport  AuthScheme = 5
)

func enumString(names []string, v int) string {
	if v >= 0 && v < len(names) {
		return names[v]
	}
	return fmt.Sprintf("UNKNOWN(%d)", v)
}

func enumParse(names []string, what, s string, out *int) error {
	s = strings.TrimSpace(s)
	for i, n := range names {
		if strings.EqualFold(n, s) {
			*out = i
			return nil
		}
	}
	return Errorf(E_INVALIDARG, "%q is not a valid %s (one of %s)", s, what, strings.ToLower(strings.Join(names, ", ")))
}

// MarshalJSON for HRESULT prints the hex form, as cli.md's error object does.
func (h HRESULT) MarshalJSON() ([]byte, error) { return json.Marshal(h.Hex()) }

// UnmarshalJSON accepts the hex form or a name.
func (h *HRESULT) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n uint32
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return err
		}
		*h = HRESULT(n)
		return nil
	}
	v, ok := ParseHRESULT(s)
	if !ok {
		return fmt.Errorf("bad HRESULT %q", s)
	}
	*h = v
	return nil
}

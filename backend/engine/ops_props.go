package engine

import (
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"ferry/backend/bits"
)

// SetDisplayName is IBackgroundCopyJob::SetDisplayName.
func (m *Manager) SetDisplayName(ref, name string) error {
	if n := utf8.RuneCountInString(name); n > bits.MaxDisplayName {
		return bits.Errorf(bits.BG_E_STRING_TOO_LONG, "the display name has %d characters; the limit is %d", n, bits.MaxDisplayName)
	}
	return m.update(ref, func(c *change) error { c.job.DisplayName = name; return nil })
}

// SetDescription is IBackgroundCopyJob::SetDescription.
func (m *Manager) SetDescription(ref, text string) error {
	if n := utf8.RuneCountInString(text); n > bits.MaxDescription {
		return bits.Errorf(bits.BG_E_STRING_TOO_LONG, "the description has %d characters; the limit is %d", n, bits.MaxDescription)
	}
	return m.update(ref, func(c *change) error { c.job.Description = text; return nil })
}

// SetPriority is IBackgroundCopyJob::SetPriority.
func (m *Manager) SetPriority(ref string, p bits.JobPriority) error {
	if p < bits.PriorityForeground || p > bits.PriorityLow {
		return bits.Errorf(bits.E_NOTIMPL, "priority %d is not FOREGROUND, HIGH, NORMAL or LOW", p)
	}
	err := m.update(ref, func(c *change) error {
		if c.job.HTTPMethod != "" && p != bits.PriorityForeground {
			return bits.Errorf(bits.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD, "a job with a custom HTTP method stays FOREGROUND")
		}
		c.job.Priority = p
		return nil
	})
	if err == nil {
		m.mu.Lock()
		m.refreshYield() // a running transfer yields, or stops yielding, at once
		m.mu.Unlock()
	}
	return err
}

// SetNotifyFlags is IBackgroundCopyJob::SetNotifyFlags.
func (m *Manager) SetNotifyFlags(ref string, f bits.NotifyFlags) error {
	if !f.Valid() {
		return bits.Errorf(bits.E_NOTIMPL, "0x%X has bits that are not BG_NOTIFY flags (0x1 transferred, 0x2 error, 0x4 disable, 0x8 modification, 0x10 file transferred, 0x20 file ranges transferred)", uint32(f))
	}
	return m.update(ref, func(c *change) error { c.job.NotifyFlags = f; return nil })
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
	return m.update(ref, func(c *change) error {
		c.job.NotifyCmdLine = cl
		c.job.NotifyAttemptAt = timeZero
		c.after = func() { m.maybeNotify(c.e) } // fires even when set after the event, as BITS
		return nil
	})
}

// SetMinimumRetryDelay is IBackgroundCopyJob::SetMinimumRetryDelay.
func (m *Manager) SetMinimumRetryDelay(ref string, seconds int64) error {
	if seconds < 0 || seconds > 1<<32-1 {
		return bits.Errorf(bits.E_INVALIDARG, "the retry delay must be 0 to 4294967295 seconds")
	}
	if seconds < bits.MinMinRetryDelay {
		seconds = bits.MinMinRetryDelay // BITS raises small values silently
	}
	return m.update(ref, func(c *change) error { c.job.MinRetryDelay = seconds; return nil })
}

// SetNoProgressTimeout is IBackgroundCopyJob::SetNoProgressTimeout (0 = no retries).
func (m *Manager) SetNoProgressTimeout(ref string, seconds int64) error {
	if seconds < 0 || seconds > 1<<32-1 {
		return bits.Errorf(bits.E_INVALIDARG, "the no-progress timeout must be 0 to 4294967295 seconds")
	}
	return m.update(ref, func(c *change) error { c.job.NoProgressTimeout = seconds; return nil })
}

// SetMaximumDownloadTime is IBackgroundCopyJob4::SetMaximumDownloadTime (0 = no limit).
func (m *Manager) SetMaximumDownloadTime(ref string, seconds int64) error {
	if seconds < 0 || seconds > 1<<32-1 {
		return bits.Errorf(bits.E_INVALIDARG, "the maximum download time must be 0 to 4294967295 seconds")
	}
	return m.update(ref, func(c *change) error { c.job.MaxDownloadTime = seconds; return nil })
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
	// The entries themselves are checked when the job runs, as BITS does:
	// a bad list puts it in ERROR with BG_E_INVALID_PROXY_INFO.
	if usage == bits.ProxyOverride && strings.TrimSpace(list) == "" {
		return bits.Errorf(bits.E_INVALIDARG, "OVERRIDE needs a proxy list")
	}
	return m.update(ref, func(c *change) error {
		c.job.Proxy = bits.ProxySettings{Usage: usage, List: list, Bypass: bypass}
		c.restart = true
		return nil
	})
}

// SetDynamic is Job5's BITS_JOB_PROPERTY_DYNAMIC_CONTENT (setdynamic).
func (m *Manager) SetDynamic(ref string, on bool) error {
	return m.SetProperty(ref, PropDynamicContent, strconv.FormatBool(on))
}

// Job properties by name (IBackgroundCopyJob5::SetProperty/GetProperty,
// spelled as bitsadmin's /setproperty does), plus Ferry's CONNECTIONS.
const (
	PropConnections      = "CONNECTIONS"
	PropDynamicContent   = "DYNAMIC_CONTENT"
	PropMaxDownloadSize  = "MAX_DOWNLOAD_SIZE"
	PropNotifyIntervalMS = "MINIMUM_NOTIFICATION_INTERVAL_MS"
	PropHighPerformance  = "HIGH_PERFORMANCE"
)

// JobProperty declares one property: its BITS_JOB_PROPERTY_ID name, when it
// may be set (BITS' refusals), how its text value is read, what it changes
// on the job and how it reads back. A new property is one entry of
// JobProperties (COST_FLAGS plugs in here).
type JobProperty struct {
	Name string
	// DownloadOnly: BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY elsewhere.
	DownloadOnly bool
	// BeforeResume / BeforeAddFile: BG_E_READ_ONLY_PROPERTY_AFTER_RESUME /
	// _AFTER_ADDFILE once the job was first resumed / has a file.
	BeforeResume, BeforeAddFile bool
	// Set checks the text value and applies it to the job's copy (c.job).
	Set func(c *change, value string) error
	// Get reads it back, as getproperty --json prints it.
	Get func(j *bits.Job) any
	// Help is one line for the help of setproperty.
	Help string
}

// JobProperties are the properties Ferry has, in the order help lists them.
var JobProperties = []*JobProperty{
	{Name: PropConnections, DownloadOnly: true,
		Help: "Ferry's own: connections one file may use, 1 to 16 (new jobs: the connectionsPerFile setting)",
		Set: func(c *change, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 || n > bits.MaxConnections {
				return bits.Errorf(bits.E_INVALIDARG, "CONNECTIONS must be a whole number from 1 to %d, not %q", bits.MaxConnections, v)
			}
			c.job.Connections = n
			return nil
		},
		Get: func(j *bits.Job) any { return j.ConnectionsOrDefault() }},
	{Name: PropDynamicContent, DownloadOnly: true, BeforeResume: true,
		Help: "true|false, before the first resume (the same as setdynamic); not with a custom HTTP method",
		Set: func(c *change, v string) error {
			on, err := parsePropBool(PropDynamicContent, v)
			if err != nil {
				return err
			}
			if on && c.job.HTTPMethod != "" {
				return bits.Errorf(bits.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD, "DYNAMIC_CONTENT does not go with the custom HTTP method %s", c.job.HTTPMethod)
			}
			for _, f := range c.job.Files {
				if on && f.Ranges != nil {
					return bits.Errorf(bits.E_INVALIDARG, "DYNAMIC_CONTENT does not go with files of byte ranges")
				}
			}
			c.job.Dynamic = on
			return nil
		},
		Get: func(j *bits.Job) any { return j.Dynamic }},
	{Name: PropMaxDownloadSize, DownloadOnly: true, BeforeResume: true,
		Help: "bytes the job may download in all, 1 to 18446744073709551615, before the first resume",
		Set: func(c *change, v string) error {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil || n == 0 {
				return bits.Errorf(bits.BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE, "MAX_DOWNLOAD_SIZE must be a whole number of bytes from 1 to %d, not %q", uint64(1<<64-1), v)
			}
			c.job.MaxDownloadSize = int64(min(n, 1<<63-1)) // past int64 is no limit in practice
			return nil
		},
		Get: func(j *bits.Job) any { return j.MaxDownloadSize }},
	{Name: PropNotifyIntervalMS,
		Help: "the least time between two progress events of the job, in milliseconds (0: the engine's 250)",
		Set: func(c *change, v string) error {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil {
				return bits.Errorf(bits.E_INVALIDARG, "MINIMUM_NOTIFICATION_INTERVAL_MS must be a whole number of milliseconds up to 4294967295, not %q", v)
			}
			c.job.NotifyIntervalMS = int64(n)
			return nil
		},
		Get: func(j *bits.Job) any { return j.NotifyIntervalMS }},
	{Name: PropHighPerformance, DownloadOnly: true, BeforeAddFile: true,
		Help: "true|false, before the first file: files are written in place (created new, never over an existing file) and a file's progress is recorded only when it ends or the job stops",
		Set: func(c *change, v string) error {
			on, err := parsePropBool(PropHighPerformance, v)
			if err != nil {
				return err
			}
			c.job.HighPerformance = on
			return nil
		},
		Get: func(j *bits.Job) any { return j.HighPerformance }},
	// COST_FLAGS may change at any time and applies at once: a running job on
	// a network it no longer allows stops in TRANSIENT_ERROR
	// BG_E_BLOCKED_BY_COST_TRANSFER_POLICY, a blocked one that is now allowed
	// is queued again (the commit wakes the scheduler).
	{Name: PropCostFlags,
		Help: "the network costs the job may transfer on, at any time: a transfer policy (TRANSFER_ALWAYS, TRANSFER_NOT_ROAMING (new jobs), TRANSFER_NO_SURCHARGE, TRANSFER_STANDARD, TRANSFER_UNRESTRICTED), BITS_COST_STATE names joined by |, or a number (0x800000FF); on a network it does not allow the job waits in TRANSIENT_ERROR BG_E_BLOCKED_BY_COST_TRANSFER_POLICY and goes on by itself",
		Set: func(c *change, v string) error {
			f, err := bits.ParseCostFlags(v)
			if err != nil {
				return err
			}
			c.job.CostFlags = f
			return nil
		},
		Get: func(j *bits.Job) any { return uint32(j.CostFlagsOrDefault()) }},
}

// notBuiltProps are Job5 properties that Ferry knows but does not have yet.
var notBuiltProps = []string{"ON_DEMAND_MODE", "NOTIFICATION_CLSID", "USE_STORED_CREDENTIALS"}

func parsePropBool(name, v string) (bool, error) {
	on, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return false, bits.Errorf(bits.E_INVALIDARG, "%s must be true or false, not %q", name, v)
	}
	return on, nil
}

// property finds a property by name: E_NOTIMPL for a known Job5 property
// not built yet, BG_E_UNKNOWN_PROPERTY_ID else.
func property(name string) (*JobProperty, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	n = strings.TrimPrefix(n, "BITS_JOB_PROPERTY_")
	n = strings.TrimPrefix(n, "ID_") // the C name: BITS_JOB_PROPERTY_ID_COST_FLAGS
	var have []string
	for _, p := range JobProperties {
		if p.Name == n {
			return p, nil
		}
		have = append(have, p.Name)
	}
	for _, p := range notBuiltProps {
		if n == p {
			return nil, bits.Errorf(bits.E_NOTIMPL, "Ferry does not have the %s property yet; it has %s", p, strings.Join(have, ", "))
		}
	}
	return nil, bits.Errorf(bits.BG_E_UNKNOWN_PROPERTY_ID, "there is no job property %q (Ferry has %s)", name, strings.Join(have, ", "))
}

// SetProperty sets a job property by name from its text value, with BITS'
// refusals: download-only properties, those read-only after the first
// file or the first resume.
func (m *Manager) SetProperty(ref, name, value string) error {
	p, err := property(name)
	if err != nil {
		return err
	}
	return m.update(ref, func(c *change) error {
		j := c.job
		switch {
		case p.DownloadOnly && j.Type != bits.TypeDownload:
			return bits.Errorf(bits.BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY, "%s applies to download jobs only", p.Name)
		case p.BeforeAddFile && len(j.Files) > 0:
			return bits.Errorf(bits.BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE, "%s can be set only before the first file is added", p.Name)
		case p.BeforeResume && j.EverResumed:
			return bits.Errorf(bits.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, "%s can be set only before the job is first resumed", p.Name)
		}
		return p.Set(c, value)
	})
}

// GetProperty returns a job property by name.
func (m *Manager) GetProperty(ref, name string) (any, error) {
	p, err := property(name)
	if err != nil {
		return nil, err
	}
	j, err := m.GetJob(ref)
	if err != nil {
		return nil, err
	}
	return p.Get(j), nil
}

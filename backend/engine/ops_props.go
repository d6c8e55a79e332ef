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

// SetDynamic is Job5's BITS_JOB_PROPERTY_DYNAMIC_CONTENT.
func (m *Manager) SetDynamic(ref string, on bool) error {
	return m.update(ref, func(c *change) error {
		if c.job.Type != bits.TypeDownload {
			return bits.Errorf(bits.BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY, "dynamic content applies to download jobs only")
		}
		if c.job.EverResumed {
			return bits.Errorf(bits.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, "dynamic content can be set only before the job is first resumed")
		}
		c.job.Dynamic = on
		return nil
	})
}

// Job properties by name (IBackgroundCopyJob5::SetProperty/GetProperty,
// spelled as bitsadmin's /setproperty does), plus Ferry's CONNECTIONS.
const (
	PropConnections    = "CONNECTIONS"
	PropDynamicContent = "DYNAMIC_CONTENT"
)

// notBuiltProps are Job5 properties that Ferry knows but does not have yet.
var notBuiltProps = []string{"HIGH_PERFORMANCE", "MAX_DOWNLOAD_SIZE", "MINIMUM_NOTIFICATION_INTERVAL_MS", "ON_DEMAND_MODE"}

// propertyName checks a property name: the canonical spelling, E_NOTIMPL
// for a known Job5 property not built yet, BG_E_UNKNOWN_PROPERTY_ID else.
func propertyName(name string) (string, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	n = strings.TrimPrefix(n, "BITS_JOB_PROPERTY_")
	n = strings.TrimPrefix(n, "ID_") // the C name: BITS_JOB_PROPERTY_ID_COST_FLAGS
	switch n {
	case PropConnections, PropDynamicContent, PropCostFlags:
		return n, nil
	}
	for _, p := range notBuiltProps {
		if n == p {
			return "", bits.Errorf(bits.E_NOTIMPL, "Ferry does not have the %s property yet; the properties it has are CONNECTIONS, DYNAMIC_CONTENT and COST_FLAGS", p)
		}
	}
	return "", bits.Errorf(bits.BG_E_UNKNOWN_PROPERTY_ID, "there is no job property %q (Ferry has CONNECTIONS, DYNAMIC_CONTENT and COST_FLAGS; %s are BITS properties not built yet)", name, strings.Join(notBuiltProps, ", "))
}

// SetProperty sets a job property by name from its text value.
func (m *Manager) SetProperty(ref, name, value string) error {
	n, err := propertyName(name)
	if err != nil {
		return err
	}
	switch n {
	case PropConnections:
		c, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil {
			return bits.Errorf(bits.E_INVALIDARG, "CONNECTIONS must be a whole number from 1 to %d, not %q", bits.MaxConnections, value)
		}
		return m.SetConnections(ref, c)
	case PropCostFlags:
		return m.SetCostFlags(ref, value)
	default: // DYNAMIC_CONTENT
		on, err := strconv.ParseBool(strings.TrimSpace(value))
		if err != nil {
			return bits.Errorf(bits.E_INVALIDARG, "DYNAMIC_CONTENT must be true or false, not %q", value)
		}
		return m.SetDynamic(ref, on)
	}
}

// GetProperty returns a job property by name, as info --json shows it.
func (m *Manager) GetProperty(ref, name string) (any, error) {
	n, err := propertyName(name)
	if err != nil {
		return nil, err
	}
	in, err := m.Info(ref)
	if err != nil {
		return nil, err
	}
	switch n {
	case PropConnections:
		return in.Connections, nil
	case PropCostFlags:
		return in.CostFlags, nil
	}
	return in.Dynamic, nil
}

// SetConnections sets CONNECTIONS: how many connections one file of the job
// may use. A transfer under way goes on with its connections and takes the
// new number at its next file or restart.
func (m *Manager) SetConnections(ref string, n int) error {
	if n < 1 || n > bits.MaxConnections {
		return bits.Errorf(bits.E_INVALIDARG, "CONNECTIONS must be from 1 to %d, not %d", bits.MaxConnections, n)
	}
	return m.update(ref, func(c *change) error {
		if c.job.Type != bits.TypeDownload {
			return bits.Errorf(bits.BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY, "CONNECTIONS applies to download jobs only")
		}
		c.job.Connections = n
		return nil
	})
}

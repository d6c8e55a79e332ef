package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"ferry/backend/bits"
)

// Unit says how a setting's number is read and printed.
type Unit string

const (
	UnitCount   Unit = "count"
	UnitSeconds Unit = "seconds"
	UnitHour    Unit = "hour"
	UnitRate    Unit = "bytes/s" // -1 = unlimited, 0 = blocked
	UnitBool    Unit = "bool"    // 1 = true, 0 = false
	// UnitPath is a setting whose value is text, an absolute path: Default,
	// Min and Max are unused, DefaultText is its default.
	UnitPath Unit = "path"
)

// SettingDef describes one engine setting (BITS' group policies, §12).
type SettingDef struct {
	Key     string `json:"key"`
	Default int64  `json:"default"`
	Min     int64  `json:"min"`
	Max     int64  `json:"max"`
	Unit    Unit   `json:"unit"`
	Help    string `json:"help"`
	// DefaultText is a UnitPath setting's default.
	DefaultText string `json:"defaultText,omitempty"`
}

// Setting keys.
const (
	KeyMaxJobsPerUser       = "maxJobsPerUser"
	KeyMaxJobsPerMachine    = "maxJobsPerMachine"
	KeyMaxFilesPerJob       = "maxFilesPerJob"
	KeyMaxRangesPerFile     = "maxRangesPerFile"
	KeyJobInactivityTimeout = "jobInactivityTimeout"
	KeyMaxForegroundJobs    = "maxForegroundJobs"
	KeyMaxBackgroundJobs    = "maxBackgroundJobs"
	KeyTimeSlice            = "timeSlice"
	KeyBandwidthBackground  = "bandwidth.background"
	KeyBandwidthHigh        = "bandwidth.high"
	KeyBandwidthNormal      = "bandwidth.normal"
	KeyBandwidthLow         = "bandwidth.low"
	KeyWindowStart          = "bandwidth.windowStart"
	KeyWindowEnd            = "bandwidth.windowEnd"
	KeyBandwidthInWindow    = "bandwidth.inWindow"
	KeyBandwidthOutWindow   = "bandwidth.outWindow"
	KeyConnectionsPerFile   = "connectionsPerFile"
	KeyBandwidthYield       = "bandwidth.yield"
	KeyDownloadDir          = "downloadDir"
)

const maxRate = 1 << 40

// SettingDefs is the one list of settings: config get/set, validation and the
// help text all derive from it.
var SettingDefs = []SettingDef{
	{KeyMaxJobsPerUser, 60, 1, 100000, UnitCount, "jobs one user may have that are not ACKNOWLEDGED or CANCELLED (BITS MaxJobsPerUser)", ""},
	{KeyMaxJobsPerMachine, 300, 1, 1000000, UnitCount, "jobs of all users together (BITS MaxJobsPerMachine)", ""},
	{KeyMaxFilesPerJob, 200, 1, 100000, UnitCount, "files in one download job (BITS MaxFilesPerJob)", ""},
	{KeyMaxRangesPerFile, 500, 1, 100000, UnitCount, "byte ranges in one file (BITS MaxRangesPerFile)", ""},
	{KeyJobInactivityTimeout, 7776000, 60, 1 << 40, UnitSeconds, "a job with no progress and no change for this long is cancelled (BITS JobInactivityTimeout, 90 days)", ""},
	{KeyMaxForegroundJobs, 0, 0, 10000, UnitCount, "FOREGROUND jobs that transfer at once; 0 = all of them, as BITS", ""},
	{KeyMaxBackgroundJobs, 1, 1, 10000, UnitCount, "HIGH/NORMAL/LOW jobs that transfer at once beside the foreground ones (BITS: 1)", ""},
	{KeyTimeSlice, 120, 1, 86400, UnitSeconds, "how long a background job transfers before an equal-priority job waiting gets its turn", ""},
	{KeyBandwidthBackground, -1, -1, maxRate, UnitRate, "cap shared by all background jobs; -1 unlimited, 0 blocks them (BG_E_BLOCKED_BY_POLICY)", ""},
	{KeyBandwidthHigh, -1, -1, maxRate, UnitRate, "cap shared by HIGH jobs", ""},
	{KeyBandwidthNormal, -1, -1, maxRate, UnitRate, "cap shared by NORMAL jobs", ""},
	{KeyBandwidthLow, -1, -1, maxRate, UnitRate, "cap shared by LOW jobs", ""},
	{KeyWindowStart, 0, 0, 23, UnitHour, "local hour at which the daily bandwidth window starts", ""},
	{KeyWindowEnd, 0, 0, 24, UnitHour, "local hour at which the daily window ends; equal to the start = no window", ""},
	{KeyBandwidthInWindow, -1, -1, maxRate, UnitRate, "cap for background jobs inside the daily window", ""},
	{KeyBandwidthOutWindow, -1, -1, maxRate, UnitRate, "cap for background jobs outside the daily window", ""},
	{KeyConnectionsPerFile, 1, 1, bits.MaxConnections, UnitCount, "CONNECTIONS of new jobs: connections one file may use (1 = one stream, as BITS; a server must allow ranges for more)", ""},
	// On by default, as cli.md says: measured on the shaped links of
	// scripts/bench-yield.sh, it meets issue 15's targets (README, Yielding).
	{KeyBandwidthYield, 1, 0, 1, UnitBool, "background jobs back off as they add queueing delay (rLEDBAT, RFC 9840); FOREGROUND jobs never yield", ""},
	// The browser extension's downloads land here (ferry native-host).
	{KeyDownloadDir, 0, 0, 0, UnitPath, "the folder where downloads handed over by the browser go (an absolute path)", DefaultDownloadDir()},
}

// DefaultDownloadDir is the user's downloads folder: XDG_DOWNLOAD_DIR, else
// ~/Downloads (made when first used), else the temporary directory when
// there is no home. The engine runs as its user, on their machine.
func DefaultDownloadDir() string {
	if d := os.Getenv("XDG_DOWNLOAD_DIR"); filepath.IsAbs(d) {
		return filepath.Clean(d)
	}
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		return filepath.Join(h, "Downloads")
	}
	return os.TempDir()
}

// TextSetting returns a UnitPath setting's value (its default if never set).
func (m *Manager) TextSetting(key string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.texts[key]; ok {
		return v
	}
	d, _ := settingDef(key)
	return d.DefaultText
}

// AllSettings is every setting's value as `config` prints it: numbers, and
// text for UnitPath settings.
func (m *Manager) AllSettings() map[string]any {
	out := map[string]any{}
	for k, v := range m.Settings() {
		out[k] = v
	}
	for _, d := range SettingDefs {
		if d.Unit == UnitPath {
			out[d.Key] = m.TextSetting(d.Key)
		}
	}
	return out
}

// IsTextSetting reports whether key names a UnitPath setting.
func IsTextSetting(key string) bool {
	d, ok := settingDef(key)
	return ok && d.Unit == UnitPath
}

// ParseTextSetting validates a UnitPath setting's value: an absolute path.
func ParseTextSetting(key, value string) (string, string, error) {
	d, ok := settingDef(key)
	if !ok || d.Unit != UnitPath {
		return "", "", bits.Errorf(bits.E_INVALIDARG, "%q is not a path setting", key)
	}
	v := strings.TrimSpace(value)
	if !filepath.IsAbs(v) || len(v) > bits.MaxLocalPath || strings.ContainsRune(v, 0) {
		return "", "", bits.Errorf(bits.E_INVALIDARG, "%s must be an absolute path, not %q", d.Key, value)
	}
	return d.Key, filepath.Clean(v), nil
}

func settingDef(key string) (SettingDef, bool) {
	for _, d := range SettingDefs {
		if strings.EqualFold(d.Key, key) {
			return d, true
		}
	}
	return SettingDef{}, false
}

// Settings holds the current value of every setting.
type Settings map[string]int64

// DefaultSettings returns every default.
func DefaultSettings() Settings {
	s := Settings{}
	for _, d := range SettingDefs {
		s[d.Key] = d.Default
	}
	return s
}

// Get returns a value (the default for a key never set).
func (s Settings) Get(key string) int64 {
	if v, ok := s[key]; ok {
		return v
	}
	d, _ := settingDef(key)
	return d.Default
}

// Keys lists the keys in table order.
func (s Settings) Keys() []string {
	out := make([]string, 0, len(SettingDefs))
	for _, d := range SettingDefs {
		if d.Unit == UnitPath {
			continue // text: Manager.TextSetting
		}
		out = append(out, d.Key)
	}
	return out
}

// ParseSetting validates VALUE for KEY. Rates accept "unlimited" and the
// suffixes K, M, G (powers of 1024); durations accept a plain number of seconds.
func ParseSetting(key, value string) (string, int64, error) {
	d, ok := settingDef(key)
	if ok && d.Unit == UnitPath {
		return "", 0, bits.Errorf(bits.E_INVALIDARG, "%s is a path, not a number", d.Key)
	}
	if !ok {
		keys := Settings{}.Keys()
		sort.Strings(keys)
		return "", 0, bits.Errorf(bits.E_INVALIDARG, "unknown setting %q (one of %s)", key, strings.Join(keys, ", "))
	}
	v, err := parseNumber(d.Unit, value)
	if err != nil {
		return "", 0, bits.Errorf(bits.E_INVALIDARG, "%s: %v", d.Key, err)
	}
	if v < d.Min || v > d.Max {
		return "", 0, bits.Errorf(bits.E_INVALIDARG, "%s must be between %d and %d %s, not %d", d.Key, d.Min, d.Max, d.Unit, v)
	}
	return d.Key, v, nil
}

func parseNumber(u Unit, s string) (int64, error) {
	s = strings.TrimSpace(s)
	if u == UnitBool {
		switch strings.ToLower(s) {
		case "true", "on", "yes", "1":
			return 1, nil
		case "false", "off", "no", "0":
			return 0, nil
		}
		return 0, fmt.Errorf("%q is not true or false", s)
	}
	if u == UnitRate && strings.EqualFold(s, "unlimited") {
		return -1, nil
	}
	mult := int64(1)
	if u == UnitRate && s != "" {
		switch strings.ToUpper(s[len(s)-1:]) {
		case "K":
			mult = 1 << 10
		case "M":
			mult = 1 << 20
		case "G":
			mult = 1 << 30
		}
		if mult != 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	// Both signs: a negative number times the suffix must not wrap around
	// into the valid range ("-9223372036854775808G" was 0).
	if n > (1<<62)/mult || n < -(1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

// FormatDefault prints a setting's default for people.
func FormatDefault(d SettingDef) string {
	if d.Unit == UnitPath {
		return d.DefaultText
	}
	return FormatSetting(d.Key, d.Default)
}

// FormatSetting prints a value with its unit, for people.
func FormatSetting(key string, v int64) string {
	d, _ := settingDef(key)
	if d.Unit == UnitRate && v < 0 {
		return "unlimited"
	}
	if d.Unit == UnitBool {
		return strconv.FormatBool(v != 0)
	}
	return fmt.Sprintf("%d %s", v, d.Unit)
}

// Settings returns a copy of the current settings.
func (m *Manager) Settings() Settings {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := Settings{}
	for _, k := range out.Keys() {
		out[k] = m.settings.Get(k)
	}
	return out
}

// SetSetting validates, records and applies one setting at once.
func (m *Manager) SetSetting(key, value string) error {
	if IsTextSetting(key) {
		return m.setTextSetting(key, value)
	}
	k, v, err := ParseSetting(key, value)
	if err != nil {
		return err
	}
	// Settings changes are serialised so that memory follows the store's order.
	m.settingsOp.Lock()
	defer m.settingsOp.Unlock()
	if err := m.st.SetSetting(k, strconv.FormatInt(v, 10)); err != nil {
		m.log.Error("could not record a setting", "key", k, "err", err)
		return storeError(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settings[k] = v
	m.bw.configure(m.settings)
	m.refreshYield()
	m.wake()
	return nil
}

func (m *Manager) setTextSetting(key, value string) error {
	k, v, err := ParseTextSetting(key, value)
	if err != nil {
		return err
	}
	m.settingsOp.Lock()
	defer m.settingsOp.Unlock()
	if err := m.st.SetSetting(k, v); err != nil {
		m.log.Error("could not record a setting", "key", k, "err", err)
		return storeError(err)
	}
	m.mu.Lock()
	m.texts[k] = v
	m.mu.Unlock()
	return nil
}

package web

import (
	"os"
	"path/filepath"

	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/ops"
)

// Meta describes the operations table and the engine's settings to the UI,
// so that its help texts, field limits and the settings page come from the
// same lists as the CLI's help. The window gets it from App.Meta, the
// browser from GET /v1/meta: both build it here.
type Meta struct {
	Version string `json:"version"`
	// DownloadDir is where new downloads go unless the user picks another
	// folder: the engine's machine is this one, so its paths are ours.
	DownloadDir string              `json:"downloadDir"`
	Ops         []OpInfo            `json:"ops"`
	Settings    []engine.SettingDef `json:"settings"`
	// Limits are the job properties' lengths (bits-reference §3), by the
	// JSON key of the property, so that forms check them as the engine does.
	Limits map[string]int `json:"limits"`
	// NotifyFlags are the BG_NOTIFY bits in the order the UI lists them.
	NotifyFlags []NotifyFlag `json:"notifyFlags"`
	// Units say how a setting of each unit is typed beyond a plain number.
	Units map[engine.Unit]UnitInfo `json:"units"`
}

// NotifyFlag is one bit of a job's notify flags.
type NotifyFlag struct {
	Name string           `json:"name"` // BG_NOTIFY_ without the prefix
	Bit  bits.NotifyFlags `json:"bit"`
}

// UnitInfo is what engine.ParseSetting accepts for a unit besides a whole
// number: suffixes that multiply it, and words that stand for a value.
type UnitInfo struct {
	Suffixes map[string]int64 `json:"suffixes,omitempty"`
	Named    map[string]int64 `json:"named,omitempty"`
}

var limits = map[string]int{
	"displayName":      bits.MaxDisplayName,
	"description":      bits.MaxDescription,
	"remoteName":       bits.MaxRemoteURL,
	"localName":        bits.MaxLocalPath,
	"proxyList":        bits.MaxProxyList,
	"notifyProgram":    bits.MaxNotifyProgram,
	"notifyParameters": bits.MaxNotifyParameters,
	"customHeaders":    bits.MaxCustomHeaders,
	"userName":         bits.MaxUserName,
	"password":         bits.MaxPassword,
}

var notifyFlags = []NotifyFlag{
	{"JOB_TRANSFERRED", bits.NotifyJobTransferred},
	{"JOB_ERROR", bits.NotifyJobError},
	{"DISABLE", bits.NotifyDisable},
	{"JOB_MODIFICATION", bits.NotifyJobModification},
	{"FILE_TRANSFERRED", bits.NotifyFileTransferred},
	{"FILE_RANGES_TRANSFERRED", bits.NotifyFileRangesTransferred},
}

// units mirrors engine.ParseSetting (a test holds them to it).
var units = map[engine.Unit]UnitInfo{
	engine.UnitRate: {Suffixes: map[string]int64{"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}, Named: map[string]int64{"unlimited": -1}},
	engine.UnitBool: {Named: map[string]int64{"true": 1, "false": 0, "on": 1, "off": 0, "yes": 1, "no": 0}},
}

// OpInfo is one operation's spec in the JSON the UI reads.
type OpInfo struct {
	Name    string     `json:"name"`
	Group   string     `json:"group"`
	Usage   string     `json:"usage"`
	Summary string     `json:"summary"`
	Help    string     `json:"help,omitempty"`
	Args    []ArgInfo  `json:"args"`
	Flags   []FlagInfo `json:"flags"`
	Prints  bool       `json:"prints"`
	// Verb, for the job methods that move a job between states: the
	// states of each job type it acts in (engine.Verbs). The UI offers the
	// action for a job exactly when it does.
	Verb *engine.Verb `json:"verb,omitempty"`
}

// ArgInfo is one positional argument.
type ArgInfo struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"` // text, job, path, secret
	Optional bool   `json:"optional,omitempty"`
	Variadic bool   `json:"variadic,omitempty"`
}

// FlagInfo is one --flag.
type FlagInfo struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
	Help  string `json:"help"`
}

var argKinds = map[ops.ArgKind]string{ops.ArgText: "text", ops.ArgJob: "job", ops.ArgPath: "path", ops.ArgSecret: "secret"}

// BuildMeta describes the table of this binary.
func BuildMeta(version string) Meta {
	m := Meta{Version: version, DownloadDir: downloadDir(), Settings: engine.SettingDefs,
		Limits: limits, NotifyFlags: notifyFlags, Units: units}
	for _, op := range ops.All() {
		oi := OpInfo{Name: op.Name, Group: op.Group, Usage: op.Usage(), Summary: op.Summary, Help: op.Help,
			Args: []ArgInfo{}, Flags: []FlagInfo{}, Prints: op.Prints, Verb: op.Verb}
		for _, a := range op.Args {
			oi.Args = append(oi.Args, ArgInfo{Name: a.Name, Kind: argKinds[a.Kind], Optional: a.Optional, Variadic: a.Variadic})
		}
		for _, f := range op.Flags {
			oi.Flags = append(oi.Flags, FlagInfo{Name: f.Name, Value: f.Value, Help: f.Help})
		}
		m.Ops = append(m.Ops, oi)
	}
	return m
}

// downloadDir is the user's downloads folder: XDG_DOWNLOAD_DIR, else
// ~/Downloads when it exists, else the home directory ("" if unknown).
func downloadDir() string {
	if d := os.Getenv("XDG_DOWNLOAD_DIR"); filepath.IsAbs(d) {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	if st, err := os.Stat(filepath.Join(home, "Downloads")); err == nil && st.IsDir() {
		return filepath.Join(home, "Downloads")
	}
	return home
}

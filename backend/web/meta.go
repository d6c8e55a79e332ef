package web

import (
	"os"
	"path/filepath"

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
	m := Meta{Version: version, DownloadDir: downloadDir(), Settings: engine.SettingDefs}
	for _, op := range ops.All() {
		oi := OpInfo{Name: op.Name, Group: op.Group, Usage: op.Usage(), Summary: op.Summary, Help: op.Help,
			Args: []ArgInfo{}, Flags: []FlagInfo{}, Prints: op.Prints}
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

//go:build windows

package transfer

import (
	"path/filepath"
	"strings"
	"testing"
)

// fileURLForms are the ways to name path (in dir, "src file.bin") as a
// source on Windows: a drive-letter path, file URLs with and without
// localhost, and the same file through the \\?\ prefix, which Windows
// parses like a UNC name.
func fileURLForms(dir, path string) []string {
	slashed := filepath.ToSlash(path)
	return []string{
		path,
		`\\?\` + path,
		"file:///" + slashed,
		"file://localhost/" + slashed,
		"file://" + slashed, // file://C:/… as people write it
		"file:///" + filepath.ToSlash(dir) + "/src%20file.bin",
	}
}

func TestWindowsFileURLs(t *testing.T) {
	for raw, want := range map[string]string{
		`C:\dir\f.bin`:                  `C:\dir\f.bin`,
		`c:/dir/../f.bin`:               `c:\f.bin`,
		"file:///C:/dir/f.bin":          `C:\dir\f.bin`,
		"file://localhost/D:/a%20b/f":   `D:\a b\f`,
		"file://C:/dir/f.bin":           `C:\dir\f.bin`,
		`\\server\share\dir\f.bin`:      `\\server\share\dir\f.bin`,
		"file://server/share/dir/f.bin": `\\server\share\dir\f.bin`,
	} {
		got, err := LocalPath(raw)
		if err != nil || got != want {
			t.Errorf("LocalPath(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{`dir\f.bin`, `C:f.bin`, "file:///relative", "http://x/y"} {
		if got, err := LocalPath(raw); err == nil {
			t.Errorf("LocalPath(%q) = %q, want an error", raw, got)
		}
	}
}

// A share that does not exist fails like BITS' SMB transfers do: an
// error about the path, not a crash or a hang.
func TestUNCMissingServer(t *testing.T) {
	err := run(t, NewFile(), Request{URL: `\\ferry-no-such-host.invalid\share\f.bin`}, newTarget(t))
	if err == nil || !strings.Contains(err.Error(), "ferry-no-such-host") {
		t.Fatalf("download from a missing share = %v", err)
	}
}

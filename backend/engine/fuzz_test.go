package engine

import (
	"errors"
	"log/slog"
	"math/big"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"ferry/backend/bits"
)

// The fuzz targets of the engine's own parsers: `go test -fuzz FuzzX
// ./backend/engine`; seed corpora in testdata/fuzz.

// wantBitsError fails unless err is a refusal with a BITS error name and a
// sentence.
func wantBitsError(t *testing.T, what string, err error) *bits.Error {
	t.Helper()
	var be *bits.Error
	if !errors.As(err, &be) || !be.Code.Failed() || strings.HasPrefix(be.Code.Name(), "0x") || strings.TrimSpace(be.Msg) == "" {
		t.Fatalf("%s: refused with %v (%T), not a named BITS error with a sentence", what, err, err)
	}
	return be
}

// FuzzParseSetting: `config set KEY VALUE`. A refusal is E_INVALIDARG with
// a sentence; an accepted value is inside the key's bounds, is exactly the
// number written (times the unit's multiple: no overflow wraps into range),
// and written back plainly it is accepted as the same value.
func FuzzParseSetting(f *testing.F) {
	for _, d := range SettingDefs {
		f.Add(d.Key, "1")
	}
	for _, v := range []string{"unlimited", "10M", "-1", "1g", "9223372036854775807", "-9223372036854775808G", "-8589934591G", "true", " 5 ", "0x10", "1e3", "K"} {
		f.Add(KeyBandwidthBackground, v)
	}
	f.Add("bandwidth.yield", "off")
	f.Add("nope", "1")
	f.Fuzz(func(t *testing.T, key, value string) {
		k, v, err := ParseSetting(key, value)
		if err != nil {
			if be := wantBitsError(t, key+"="+value, err); be.Code != bits.E_INVALIDARG {
				t.Fatalf("%s=%q refused with %s", key, value, be.Code.Name())
			}
			return
		}
		d, ok := settingDef(k)
		if !ok || v < d.Min || v > d.Max {
			t.Fatalf("%s=%q accepted as %s=%d outside [%d, %d]", key, value, k, v, d.Min, d.Max)
		}
		// The oracle: the digits times the suffix, in exact arithmetic.
		s := strings.TrimSpace(value)
		mult := big.NewInt(1)
		if d.Unit == UnitRate && len(s) > 0 {
			if i := strings.IndexByte("KMG", strings.ToUpper(s[len(s)-1:])[0]); i >= 0 {
				mult.Lsh(mult, uint(10*(i+1)))
				s = s[:len(s)-1]
			}
		}
		if n, ok := new(big.Int).SetString(s, 10); ok && d.Unit != UnitBool {
			if want := n.Mul(n, mult); !want.IsInt64() || want.Int64() != v {
				t.Fatalf("%s=%q accepted as %d, but it is %s", key, value, v, want)
			}
		}
		k2, v2, err := ParseSetting(k, big.NewInt(v).String())
		if err != nil || k2 != k || v2 != v {
			t.Fatalf("%s=%d (from %q) is not accepted again: %s=%d %v", k, v, value, k2, v2, err)
		}
	})
}

// FuzzSplitCommandLine: a notify command line's parameters and the lines
// of an addfileset list. Nothing is expanded, and any arguments quoted
// back split into the same arguments.
func FuzzSplitCommandLine(f *testing.F) {
	for _, s := range []string{`a b c`, `"a b" 'c d'`, `"a \" \\ b"`, `'unclosed`, `$(rm -rf /) ; | & > x`, "tab\there\nnl", `"" ''`, `\\server\share "C:\x y\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := SplitCommandLine(s)
		if err != nil {
			wantBitsError(t, s, err)
			return
		}
		if !utf8.ValidString(s) {
			return // read as runes: not UTF-8 text is refused before it gets here
		}
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a) + `"`
		}
		again, err := SplitCommandLine(strings.Join(quoted, " "))
		if err != nil || len(again) != len(args) {
			t.Fatalf("%q: %q quoted back gives %q %v", s, args, again, err)
		}
		for i := range args {
			if again[i] != args[i] {
				t.Fatalf("%q: %q quoted back gives %q", s, args, again)
			}
		}
	})
}

// FuzzAddFile: remote URLs and local paths given to AddFile, against a real
// engine. A refusal is a named BITS error with a sentence and adds nothing;
// an accepted file has a remote name that is valid again and carries no
// password, and a clean absolute local name.
func FuzzAddFile(f *testing.F) {
	h := newHarness(f, func(c *Config) { c.Logger = slog.New(slog.DiscardHandler) })
	dir := h.dir
	for _, r := range []string{"http://h/x", "https://u:p@h/x", "ftp://h/x", "file:///etc/passwd", "http:///x", "HTTP://H:80/%zz",
		"http://[::1]:99999/", "/abs/path", "relative", " http://h/ ", "http://h/\x00", "file://h/a*b", "javascript:alert(1)"} {
		f.Add(r, filepath.Join(dir, "a.bin"), "")
	}
	for _, l := range []string{"", "rel/x", dir, dir + "/../" + filepath.Base(dir) + "/b", dir + "/nodir/x", dir + "/x\x00y", "/dev/null", dir + "/" + strings.Repeat("x", 300)} {
		f.Add("http://h/x", l, "")
	}
	f.Add("http://h/x", filepath.Join(dir, "c"), strings.Repeat("ab", 32))
	f.Add("http://h/x", filepath.Join(dir, "c"), "zz")
	var job string
	files := 0
	f.Fuzz(func(t *testing.T, remote, local, sum string) {
		if job == "" || files >= 150 {
			if job != "" {
				if _, err := h.m.Cancel(job); err != nil {
					t.Fatal(err)
				}
			}
			info, err := h.m.CreateJob("fuzz", bits.TypeDownload)
			if err != nil {
				t.Fatal(err)
			}
			job, files = info.ID, 0
		}
		err := h.m.AddFile(job, FileSpec{RemoteName: remote, LocalName: local, SHA256: sum})
		info, ierr := h.m.Info(job)
		if ierr != nil {
			t.Fatal(ierr)
		}
		if err != nil {
			wantBitsError(t, remote+" "+local, err)
			if len(info.Files) != files {
				t.Fatalf("a refused AddFile(%q, %q) left %d files, not %d", remote, local, len(info.Files), files)
			}
			return
		}
		files++
		if len(info.Files) != files {
			t.Fatalf("AddFile(%q, %q) gives %d files, want %d", remote, local, len(info.Files), files)
		}
		got := info.Files[files-1]
		if _, err := h.m.remoteScheme(got.RemoteName); err != nil {
			t.Fatalf("%q stored as %q, which is refused again: %v", remote, got.RemoteName, err)
		}
		if u, err := url.Parse(got.RemoteName); err == nil && u.User != nil {
			t.Fatalf("%q stored with its user info: %q", remote, got.RemoteName)
		} else if err == nil && u.Port() != "" {
			if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
				t.Fatalf("%q stored with port %q", remote, u.Port())
			}
		}
		if !filepath.IsAbs(got.LocalName) || filepath.Clean(got.LocalName) != got.LocalName || got.LocalName != filepath.Clean(local) {
			t.Fatalf("%q stored as %q", local, got.LocalName)
		}
	})
}

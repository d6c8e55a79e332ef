package browser

import (
	"os"
	"path/filepath"
	"testing"
)

func TestUniqueName(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.bin", "a (1).bin", "b.tar.gz"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("user's"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	taken := map[string]bool{filepath.Join(dir, "c.txt"): true}
	cases := map[string]string{
		"a.bin":    "a (2).bin",
		"b.tar.gz": "b (1).tar.gz",
		"c.txt":    "c (1).txt",
		"new.iso":  "new.iso",
		"noext":    "noext",
	}
	for in, want := range cases {
		if got := uniqueName(dir, in, taken); got != filepath.Join(dir, want) {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

func TestSafeName(t *testing.T) {
	cases := map[string]string{
		"../../etc/passwd":   "passwd",
		`..\..\win.ini`:      "win.ini",
		"a\x00b\nc.txt":      "a_b_c.txt",
		"..":                 "download",
		"":                   "download",
		"report: 2026?.pdf":  "report_ 2026_.pdf",
		" spaced name.zip. ": "spaced name.zip",
	}
	for in, want := range cases {
		if got := SafeName(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	if got := fileName(Item{URL: "https://example.org/dl/r%C3%A9sum%C3%A9.pdf?x=1"}); got != "résumé.pdf" {
		t.Errorf("from the URL: %q", got)
	}
	if got := fileName(Item{URL: "https://example.org/"}); got != "download" {
		t.Errorf("from a bare URL: %q", got)
	}
}

package ops

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"

	"ferry/backend/bits"
)

// Names that text/tabwriter measured by runes: CJK and emoji take two
// columns each, combining marks and zero-width joiners none.
var wideNames = []string{
	"plain",
	"日本語のジョブ",                       // CJK: 2 columns a character
	"cafe\u0301 re\u0301sume\u0301", // combining acute accents: 0 columns
	"👨\u200d👩\u200d👧 family",        // a ZWJ sequence: one 2-column glyph
	"🚀 launch",
	"한국어 작업",
	"line\u2028para\u2029end",
}

// columnAt is the display column at which sub starts in line.
func columnAt(t *testing.T, line, sub string) int {
	t.Helper()
	i := strings.Index(line, sub)
	if i < 0 {
		t.Fatalf("%q not in %q", sub, line)
	}
	return runewidth.StringWidth(line[:i])
}

func TestListAlignsColumnsByDisplayWidth(t *testing.T) {
	var jobs []bits.JobInfo
	for _, n := range wideNames {
		jobs = append(jobs, bits.JobInfo{ID: "0c7f6d1e-5a55-4b07-9d3f-2f2f7f1b9a10", DisplayName: n,
			Type: bits.TypeDownload, State: bits.StateSuspended, Priority: bits.PriorityNormal})
	}
	raw, _ := json.Marshal(jobs)
	var b bytes.Buffer
	if err := textList(&b, raw, Request{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(wideNames)+1 {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(wideNames)+1, b.String())
	}
	want := columnAt(t, lines[0], "TYPE")
	for _, l := range lines[1:] {
		if got := columnAt(t, l, "DOWNLOAD"); got != want {
			t.Errorf("TYPE column at %d, want %d, in\n%s", got, want, b.String())
		}
	}
	if got := columnAt(t, lines[0], "STATE"); got != columnAt(t, lines[1], "SUSPENDED") {
		t.Errorf("STATE column misaligned:\n%s", b.String())
	}
}

func TestEscShowsLineAndParagraphSeparators(t *testing.T) {
	if got, want := Esc("a\u2028b\u2029c"), `a\u2028b\u2029c`; got != want {
		t.Errorf("Esc = %q, want %q", got, want)
	}
	jobs := []bits.JobInfo{{ID: "x", DisplayName: "line\u2028para\u2029end", Description: "d\u2028e",
		Files: []bits.FileInfo{{RemoteName: "http://h/a\u2028", LocalName: "/tmp/b\u2029"}}}}
	raw, _ := json.Marshal(jobs)
	one, _ := json.Marshal(jobs[0])
	for _, c := range []struct {
		what string
		f    textFunc
		raw  []byte
	}{{"list", textList, raw}, {"info", textInfo, one}} {
		var b bytes.Buffer
		if err := c.f(&b, c.raw, Request{Flags: map[string]string{"verbose": "true"}}); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(b.String(), "\u2028\u2029") {
			t.Errorf("%s printed a raw line or paragraph separator:\n%q", c.what, b.String())
		}
		if !strings.Contains(b.String(), `line\u2028para\u2029end`) {
			t.Errorf("%s does not show the escaped name:\n%s", c.what, b.String())
		}
	}
}

func TestLongNamesAreCutByDisplayWidth(t *testing.T) {
	cases := []struct{ name, want string }{
		{strings.Repeat("日", 30), strings.Repeat("日", 19) + "…"}, // 38 columns + 1: the 20th would need 2
		{"a" + strings.Repeat("日", 30), "a" + strings.Repeat("日", 19) + "…"},
		{strings.Repeat("x", 37) + "\u202eabc", strings.Repeat("x", 37) + "…"}, // never "\u" alone
		{strings.Repeat("e\u0301", 50), strings.Repeat("e\u0301", 39) + "…"},   // accents stay on their letters
		{strings.Repeat("👨\u200d👩\u200d👧", 25), strings.Repeat("👨\u200d👩\u200d👧", 19) + "…"},
		{strings.Repeat("n", 40), strings.Repeat("n", 40)},
	}
	for _, c := range cases {
		got := fitWidth(Esc(c.name), nameColumns)
		if got != c.want {
			t.Errorf("fitWidth(%q) = %q, want %q", c.name, got, c.want)
		}
		if w := runewidth.StringWidth(got); w > nameColumns {
			t.Errorf("fitWidth(%q) is %d columns wide, limit %d", c.name, w, nameColumns)
		}
		if !utf8.ValidString(got) {
			t.Errorf("fitWidth(%q) cut a character: %q", c.name, got)
		}
	}
	// In the table: the long name is cut and the columns after it still align.
	jobs := []bits.JobInfo{{ID: "a", DisplayName: strings.Repeat("日", 100), Type: bits.TypeDownload},
		{ID: "b", DisplayName: "short", Type: bits.TypeDownload}}
	raw, _ := json.Marshal(jobs)
	var b bytes.Buffer
	if err := textList(&b, raw, Request{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if columnAt(t, lines[1], "DOWNLOAD") != columnAt(t, lines[2], "DOWNLOAD") || columnAt(t, lines[1], "DOWNLOAD") > 1+2+nameColumns+2 {
		t.Errorf("a long name is not cut to %d columns:\n%s", nameColumns, b.String())
	}
}

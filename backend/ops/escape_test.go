package ops

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"ferry/backend/bits"
)

func TestEscShowsControlCharactersAndKeepsTheRest(t *testing.T) {
	cases := map[string]string{
		"nightly":              "nightly",
		"Größe 日本 ☃":           "Größe 日本 ☃",
		"a\nb":                 `a\nb`,
		"a\r\nb\tc":            `a\r\nb\tc`,
		"\x1b]0;owned\x07red":  `\x1b]0;owned\x07red`,
		"\x1b[2J":              `\x1b[2J`,
		"del\x7f":              `del\x7f`,
		"c1\u009b31m":          `c1\u009b31m`,
		"rtl\u202egnp.exe":     `rtl\u202egnp.exe`,
		"caf\xe9":              `caf\xe9`,
		`C:\path\with\slashes`: `C:\path\with\slashes`,
	}
	for in, want := range cases {
		if got := Esc(in); got != want {
			t.Errorf("Esc(%q) = %q, want %q", in, got, want)
		}
	}
}

// A job name with a newline, a carriage return and ESC used to be printed
// raw by list, breaking the table and writing escape sequences.
func TestTextOutputEscapesJobStrings(t *testing.T) {
	name := "evil\n\x1b[31mred\rX\tY"
	in := bits.JobInfo{ID: "0c7f6d1e-5a55-4b07-9d3f-2f2f7f1b9a10", DisplayName: name, Description: "line1\nline2",
		Files: []bits.FileInfo{{RemoteName: "http://h/a\x1b[0m", LocalName: "/tmp/a\nb"}}}
	raw, _ := json.Marshal([]bits.JobInfo{in})
	one, _ := json.Marshal(in)
	files, _ := json.Marshal(in.Files)
	nameJSON, _ := json.Marshal(name)
	for _, c := range []struct {
		what string
		f    textFunc
		raw  []byte
		r    Request
	}{
		{"list", textList, raw, Request{}},
		{"list --verbose", textList, raw, Request{Flags: map[string]string{"verbose": "true"}}},
		{"info --verbose", textInfo, one, Request{Flags: map[string]string{"verbose": "true"}}},
		{"listfiles", textFiles, files, Request{}},
		{"getdisplayname", textScalar, nameJSON, Request{}},
	} {
		var b bytes.Buffer
		if err := c.f(&b, c.raw, c.r); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.ContainsAny(out, "\x1b\r") {
			t.Errorf("%s printed a raw control character:\n%q", c.what, out)
		}
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if strings.Contains(line, "evil") && !strings.Contains(line, `evil\n\x1b[31mred\rX\tY`) {
				t.Errorf("%s: the name is split or changed: %q", c.what, line)
			}
		}
	}
	// list: a header and one row, whatever the name holds.
	var b bytes.Buffer
	textList(&b, raw, Request{})
	if n := strings.Count(b.String(), "\n"); n != 2 {
		t.Errorf("list printed %d lines for one job:\n%s", n, b.String())
	}
}

func TestCheckUTF8RefusesWhatJSONWouldChange(t *testing.T) {
	if err := CheckUTF8(Request{Args: []string{"ok", "Größe"}, Flags: map[string]string{"name": "日本"}}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []Request{
		{Args: []string{"job", "/tmp/caf\xe9"}},
		{Args: []string{"x"}, Flags: map[string]string{"name": "\xff"}},
	} {
		err := CheckUTF8(r)
		if bits.CodeOf(err) != bits.E_INVALIDARG || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("CheckUTF8(%q) = %v", r, err)
		}
	}
	_, err := Invoke(t.Context(), nil, "setdisplayname", Request{Args: []string{"job", "n\xe9"}})
	if bits.CodeOf(err) != bits.E_INVALIDARG {
		t.Fatalf("Invoke accepted a name that is not UTF-8: %v", err)
	}
}

package ops

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/engine"
)

// FuzzParseFileSet: an addfileset list. A refusal is a named BITS error
// with a sentence (E_INVALIDARG, or BG_E_TOO_MANY_FILES_IN_JOB past the
// limit); an accepted list has 1 to max files (empty names are AddFile's
// to refuse), and its files written back as quoted lines parse to the same files.
func FuzzParseFileSet(f *testing.F) {
	for _, s := range []string{"http://h/a /tmp/a\nhttp://h/b /tmp/b " + strings.Repeat("0", 64) + "\n", "# comment\n\n  \r\n", "\"http://h/a b\" '/tmp/x y'\r\n",
		"one-field\n", "a b c d\n", "a 'b\n", "a b\n\xff\n", "a b\na b\na b\na b\n", "\"a\\\"b\" \"c\\\\d\"\n"} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, list string, max uint8) {
		limit := int64(max%8) + 1
		specs, err := parseFileSet(strings.NewReader(list), "list.txt", limit)
		if err != nil {
			var be *bits.Error
			if !errors.As(err, &be) || (be.Code != bits.E_INVALIDARG && be.Code != bits.BG_E_TOO_MANY_FILES_IN_JOB) || !strings.Contains(be.Msg, "list.txt") {
				t.Fatalf("%q refused with %v", list, err)
			}
			return
		}
		if len(specs) == 0 || int64(len(specs)) > limit {
			t.Fatalf("%q: %d files accepted, limit %d", list, len(specs), limit)
		}
		q := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		var b strings.Builder
		for _, s := range specs {
			b.WriteString(`"` + q.Replace(s.RemoteName) + `" "` + q.Replace(s.LocalName) + `"`)
			if s.SHA256 != "" {
				b.WriteString(` "` + q.Replace(s.SHA256) + `"`)
			}
			b.WriteString("\n")
		}
		again, err := parseFileSet(strings.NewReader(b.String()), "again.txt", limit)
		if err != nil || !sameSpecs(again, specs) {
			t.Fatalf("%q: %+v written back as %q gives %+v %v", list, specs, b.String(), again, err)
		}
	})
}

func sameSpecs(a, b []engine.FileSpec) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

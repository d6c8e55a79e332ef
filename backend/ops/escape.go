package ops

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"ferry/backend/bits"
)

// Esc makes a string safe to print for people: control characters (C0, DEL,
// C1: newlines, tabs, carriage returns, ESC…), the line and paragraph
// separators and the bidirectional overrides that can reorder what a
// terminal shows become visible escapes (\n, \r, \t, \x1b, \u2028, \u202e), and bytes that are not UTF-8 become \xHH, so
// that a job's name can neither break a table nor write terminal escape
// sequences. JSON output is never escaped this way: it stays exact.
func Esc(s string) string {
	if !needsEsc(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEsc(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if unsafeRune(r) {
			return true
		}
	}
	return false
}

// unsafeRune reports the characters a terminal acts on rather than shows.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || // C0, DEL and C1
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || // bidi embeddings, overrides, isolates
		r == 0x200e || r == 0x200f || r == 0x061c || // bidi marks
		r == 0x2028 || r == 0x2029 // line and paragraph separators: some terminals and most editors break the line there
}

// CheckUTF8 refuses a request with an argument or flag value that is not
// UTF-8. Ferry keeps names, descriptions, URLs and paths as UTF-8 text (JSON
// can carry nothing else); letting such bytes through would turn them into
// U+FFFD on the way, a silent change of a name or a path. Paths on Linux
// may legally be any bytes: those files cannot be named to Ferry.
//
// It refuses a NUL character too, which only an API call can carry (no
// command line can): BITS' strings end at a NUL, no path may hold one, and
// a name holding one would reach notifications and command lines cut short.
func CheckUTF8(r Request) error {
	for i, a := range r.Args {
		if !utf8.ValidString(a) {
			return bits.Errorf(bits.E_INVALIDARG, "argument %d (%s) is not valid UTF-8; Ferry takes names, URLs and paths as UTF-8 text only and never changes their bytes", i+1, Esc(a))
		}
		if strings.IndexByte(a, 0) >= 0 {
			return bits.Errorf(bits.E_INVALIDARG, "argument %d (%s) holds a NUL character, which no name, URL or path may hold", i+1, Esc(a))
		}
	}
	for k, v := range r.Flags {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return bits.Errorf(bits.E_INVALIDARG, "flag --%s (%s) is not valid UTF-8; Ferry takes names, URLs and paths as UTF-8 text only", Esc(k), Esc(v))
		}
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			return bits.Errorf(bits.E_INVALIDARG, "flag --%s (%s) holds a NUL character", Esc(k), Esc(v))
		}
	}
	return nil
}

package ops

import (
	"io"
	"strings"

	"github.com/mattn/go-runewidth"
)

// nameColumns caps the NAME column of the job table: a display name may have
// 256 characters, which would push every other column off the screen. `info`
// and --json show it whole.
const nameColumns = 40

// columns lays out a table as text/tabwriter did here (two spaces between
// columns, the last column unpadded) but measures cells by display width:
// text/tabwriter counts one column a rune, so CJK and emoji (two columns on
// a terminal) and combining marks or zero-width joiners (none) misaligned
// every column after a job's name.
type columns struct {
	rows [][]string
}

// add appends one row; cells must already be escaped (Esc).
func (c *columns) add(cells ...string) { c.rows = append(c.rows, cells) }

// write prints the rows, each column as wide as its widest cell plus two.
func (c *columns) write(w io.Writer) error {
	var widths []int
	for _, row := range c.rows {
		for i, cell := range row[:max(len(row)-1, 0)] {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(cell))
		}
	}
	var b strings.Builder
	for _, row := range c.rows {
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(cell)+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// displayWidth is how many terminal columns s takes, by grapheme cluster
// (an emoji ZWJ sequence is one two-column glyph). East Asian ambiguous
// characters count as the terminal's locale counts them (RUNEWIDTH_EASTASIAN,
// else LC_ALL/LC_CTYPE/LANG).
func displayWidth(s string) int { return runewidth.StringWidth(s) }

// fitWidth shortens an escaped cell to at most limit columns, ending it with
// "…": it cuts between grapheme clusters (never through a wide character or
// before its combining marks) and never inside an escape such as \u202e,
// which would read as other text.
func fitWidth(escaped string, limit int) string {
	if displayWidth(escaped) <= limit {
		return escaped
	}
	const tail = "…"
	kept := runewidth.Truncate(escaped, limit-displayWidth(tail), "")
	if i := strings.LastIndexByte(kept, '\\'); i >= 0 && i+escapeLen(escaped[i:]) > len(kept) {
		kept = kept[:i]
	}
	return kept + tail
}

// escapeLen is the length of the escape Esc wrote at the start of s: \n,
// \xHH or \uHHHH (a backslash of the text itself is one byte).
func escapeLen(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	switch s[1] {
	case 'n', 'r', 't':
		return 2
	case 'x':
		return min(4, len(s))
	case 'u':
		return min(6, len(s))
	}
	return 1
}

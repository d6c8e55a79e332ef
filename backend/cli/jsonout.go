package cli

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// indenter formats JSON as json.Indent(dst, src, "", "  ") does, a piece at
// a time, straight to its writer: no copy of a large answer (a verbose list
// of 100,000 files is 30 MB, 45 MB indented) and no scanner pass over it.
// The engine's answers are compact (whitespace outside strings is skipped
// anyway); it checks that strings and brackets close, not every token.
type indenter struct {
	bw                     *bufio.Writer
	depth                  int
	needIndent, inStr, esc bool
	started                bool // a byte of the value was seen
}

func newIndenter(w io.Writer) *indenter {
	return &indenter{bw: bufio.NewWriterSize(w, 64<<10)}
}

var errMalformed = errors.New("the answer is not well-formed JSON")

func (d *indenter) newline() {
	d.bw.WriteByte('\n')
	for range d.depth {
		d.bw.WriteString("  ")
	}
}

// write formats p. In a framed value (one inside {"result":…}), a closing
// bracket at depth 0 is the frame's: write stops there and returns its
// index; otherwise it returns -1.
func (d *indenter) write(p []byte, framed bool) (int, error) {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if d.inStr {
			// Copy the string's bytes in one write, up to its end.
			j := i
			for ; j < len(p); j++ {
				c = p[j]
				if d.esc {
					d.esc = false
				} else if c == '\\' {
					d.esc = true
				} else if c == '"' {
					d.inStr = false
					break
				}
			}
			if j == len(p) {
				d.bw.Write(p[i:])
				return -1, nil
			}
			d.bw.Write(p[i : j+1])
			i = j
			continue
		}
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		if framed && (c == '}' || c == ']') && d.depth == 0 && !d.needIndent {
			if !d.started {
				return 0, errMalformed
			}
			return i, nil
		}
		d.started = true
		if d.needIndent && c != '}' && c != ']' {
			d.needIndent = false
			d.depth++
			d.newline()
		}
		switch c {
		case '"':
			d.inStr = true
			d.bw.WriteByte(c)
		case '{', '[':
			d.needIndent = true
			d.bw.WriteByte(c)
		case ',':
			d.bw.WriteByte(c)
			d.newline()
		case ':':
			d.bw.WriteString(": ")
		case '}', ']':
			if d.needIndent {
				d.needIndent = false
			} else {
				if d.depth == 0 {
					return 0, errMalformed
				}
				d.depth--
				d.newline()
			}
			d.bw.WriteByte(c)
		default:
			d.bw.WriteByte(c)
		}
	}
	return -1, nil
}

// finish ends the document with a newline.
func (d *indenter) finish() error {
	if !d.started || d.inStr || d.depth != 0 || d.needIndent {
		return errMalformed
	}
	d.bw.WriteByte('\n')
	return d.bw.Flush()
}

// writeIndented writes the JSON document src indented, and a newline.
// Malformed src is an error (and what was written before it was found
// stays written).
func writeIndented(w io.Writer, src []byte) error {
	d := newIndenter(w)
	if _, err := d.write(src, false); err != nil {
		return err
	}
	return d.finish()
}

// resultFrame is how the engine's successful answers begin (wire.WriteResult).
var resultFrame = []byte(`{"result":`)

// writeIndentedResult writes the result of an answer body read from r,
// indented, as it arrives. ok is false, with nothing written, when the body
// is not framed as the engine frames its answers; the caller then reads it
// the slow way from the bytes returned (which begin the body).
func writeIndentedResult(w io.Writer, r io.Reader) (ok bool, head []byte, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err = br.Peek(len(resultFrame))
	if err != nil || !bytes.Equal(head, resultFrame) {
		head = append([]byte(nil), head...)
		return false, head, nil
	}
	br.Discard(len(resultFrame))
	d := newIndenter(w)
	for {
		p, _ := br.Peek(br.Buffered()) // what is buffered: no error
		if len(p) == 0 {
			if _, err := br.Peek(1); err == io.EOF {
				return true, nil, errMalformed // cut short
			} else if err != nil {
				return true, nil, err
			}
			continue
		}
		end, err := d.write(p, true)
		if err != nil {
			return true, nil, err
		}
		if end < 0 {
			br.Discard(len(p))
			continue
		}
		br.Discard(end)
		rest, _ := io.ReadAll(io.LimitReader(br, 16))
		if string(rest) != "}\n" && string(rest) != "}" {
			return true, nil, errMalformed
		}
		return true, nil, d.finish()
	}
}

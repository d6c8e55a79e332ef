// Package httprange parses the byte ranges of HTTP (RFC 9110 §14): the one
// Content-Range parser of Ferry's download client and its upload server.
package httprange

import (
	"fmt"
	"strconv"
	"strings"
)

// ContentRange is "bytes START-END/TOTAL". Total is -1 for "*" (unknown).
// An unsatisfied-range ("bytes */TOTAL") has Start and End -1.
type ContentRange struct {
	Start, End, Total int64
}

// Len is the number of bytes the range covers (0 when unsatisfied).
func (c ContentRange) Len() int64 {
	if c.Start < 0 {
		return 0
	}
	return c.End - c.Start + 1
}

// Unsatisfied reports "bytes */TOTAL".
func (c ContentRange) Unsatisfied() bool { return c.Start < 0 }

// ParseContentRange parses a Content-Range header value. The unit is
// matched without regard to case; a range must be well formed (START <= END,
// END < TOTAL when TOTAL is known).
func ParseContentRange(s string) (ContentRange, error) {
	bad := fmt.Errorf("bad Content-Range %q", s)
	unit, rest, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return ContentRange{}, bad
	}
	span, size, ok := strings.Cut(strings.TrimSpace(rest), "/")
	if !ok {
		return ContentRange{}, bad
	}
	total := int64(-1)
	if size != "*" {
		n, err := strconv.ParseInt(size, 10, 64)
		if err != nil || n < 0 {
			return ContentRange{}, bad
		}
		total = n
	}
	if span == "*" {
		if total < 0 {
			return ContentRange{}, bad // "*/*" says nothing
		}
		return ContentRange{Start: -1, End: -1, Total: total}, nil
	}
	a, b, ok := strings.Cut(span, "-")
	if !ok {
		return ContentRange{}, bad
	}
	start, err1 := strconv.ParseUint(a, 10, 63)
	end, err2 := strconv.ParseUint(b, 10, 63)
	if err1 != nil || err2 != nil || end < start || (total >= 0 && int64(end) >= total) {
		return ContentRange{}, bad
	}
	return ContentRange{Start: int64(start), End: int64(end), Total: total}, nil
}

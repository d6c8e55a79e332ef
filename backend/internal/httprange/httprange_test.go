package httprange

import "testing"

func TestParseContentRange(t *testing.T) {
	for _, c := range []struct {
		in   string
		want ContentRange
		ok   bool
	}{
		{"bytes 0-99/100", ContentRange{0, 99, 100}, true},
		{"BYTES 5-9/*", ContentRange{5, 9, -1}, true},
		{"  bytes  7-7/8 ", ContentRange{7, 7, 8}, true},
		{"bytes */100", ContentRange{-1, -1, 100}, true},
		{"bytes */*", ContentRange{}, false},
		{"bytes 0-100/100", ContentRange{}, false}, // end past the total
		{"bytes 9-5/100", ContentRange{}, false},
		{"bytes -1-5/100", ContentRange{}, false},
		{"bytes 0--1/0", ContentRange{}, false},
		{"bytes 0-5", ContentRange{}, false},
		{"items 0-5/6", ContentRange{}, false},
		{"bytes=0-5/6", ContentRange{}, false},
		{"bytes 0-5/-6", ContentRange{}, false},
		{"bytes +1-5/6", ContentRange{}, false},
	} {
		got, err := ParseContentRange(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseContentRange(%q) = %+v, %v; want %+v ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
	if n := (ContentRange{5, 9, 10}).Len(); n != 5 {
		t.Errorf("Len = %d", n)
	}
}

package ops

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
)

func TestFileSetBounds(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	line := "http://h/a /tmp/a\n"
	cases := []struct {
		name string
		body []byte
		max  int64
		code bits.HRESULT
		msg  string
	}{
		// Refused from its size before a byte is read.
		{"big", []byte(strings.Repeat("# padding\n", maxListBytes/10+1)), 200, bits.BG_E_TOO_LARGE, "larger than 16 MiB"},
		{"longline", []byte("http://h/" + strings.Repeat("a", maxListLine) + " /tmp/a\n"), 200, bits.E_INVALIDARG, "line 1 is longer than 64 KiB"},
		{"toomany", []byte(strings.Repeat(line, 4)), 3, bits.BG_E_TOO_MANY_FILES_IN_JOB, "more than 3 files"},
		{"latin1", []byte("# ok\nhttp://h/caf\xe9 /tmp/caf\xe9\n"), 200, bits.E_INVALIDARG, "line 2 is not UTF-8"},
	}
	for _, c := range cases {
		_, err := readFileSet(write(c.name, c.body), c.max)
		if bits.CodeOf(err) != c.code || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %s with %q", c.name, err, c.code.Name(), c.msg)
		}
	}
	// A file that grows past the bound while it is read is cut off too.
	_, err := parseFileSet(io.MultiReader(strings.NewReader(strings.Repeat("#\n", maxListBytes/2)), strings.NewReader("#\n")), "grown", 200)
	if bits.CodeOf(err) != bits.BG_E_TOO_LARGE {
		t.Fatalf("grown list: %v", err)
	}
}

// A read that does not finish (a hung network file system) gives up.
func TestFileSetReadIsBoundInTime(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	start := time.Now()
	_, err := readListWithin(r, "slow", 200, 50*time.Millisecond)
	if bits.CodeOf(err) != bits.ERROR_TIMEOUT {
		t.Fatalf("err = %v, want ERROR_TIMEOUT", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("gave up after %v", d)
	}
}

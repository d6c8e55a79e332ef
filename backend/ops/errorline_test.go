package ops

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/store"
)

// TestNoErrorLineShowsItsCodeTwice calls every operation of the table with
// arguments that each refuse in its own way (junk, out of range, too long,
// a job in the wrong state, a bad proxy list...) and checks that no error
// line shows a code twice. bits' TestNoCodeTwice checks the mechanism; this
// is the enumeration of the paths that use it.
func TestNoErrorLineShowsItsCodeTwice(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := engine.New(engine.Config{Store: st, Owner: "tester", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	env := &Env{Manager: m}
	job, err := m.CreateJob("j", bits.TypeDownload)
	if err != nil {
		t.Fatal(err)
	}
	up, err := m.CreateJob("u", bits.TypeUpload)
	if err != nil {
		t.Fatal(err)
	}
	junk := []string{"", "x", "-1", "0x", "99999999999999999999", "NULL", "override", "bad proxy:99999",
		"http://[::1", "relative/path", strings.Repeat("y", 5000), "true", "COST_FLAGS", "0x80000000"}
	skip := map[string]bool{"shutdown": true, "reset": true}
	calls, failures := 0, 0
	for _, op := range All() {
		if skip[op.Name] {
			continue
		}
		min, max := op.ArgRange()
		if max < 0 || max > 4 {
			max = 4
		}
		for n := min; n <= max; n++ {
			for _, first := range []string{job.ID, up.ID, "nosuchjob"} {
				for _, j := range junk {
					args := make([]string, n)
					for i := range args {
						args[i] = j
					}
					if n > 0 && len(op.Args) > 0 && op.Args[0].Kind == ArgJob {
						args[0] = first
					}
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					_, err := op.Run(ctx, env, Request{Args: args, Flags: map[string]string{}})
					cancel()
					calls++
					if err == nil {
						continue
					}
					failures++
					line := err.Error()
					code := bits.CodeOf(err)
					if c := strings.Count(line, code.Hex()); c > 1 {
						t.Errorf("%s %q: the code %d times: %s", op.Name, args, c, line)
					}
				}
			}
		}
	}
	if failures < 100 {
		t.Fatalf("only %d of %d calls failed: the enumeration does not reach the error paths", failures, calls)
	}
	t.Logf("%d calls, %d refused", calls, failures)
}

package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// The notify command line never passes through a shell, and nothing of the
// job (its name, description, URLs) is spliced into it: shell syntax in the
// parameters and in the job's name reaches the program as plain text, and
// runs nothing.
func TestNotifyCmdLineRunsNoShell(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 100})
	h := newHarness(t)
	out := h.path("args")
	pwned := h.path("pwned")
	script := h.path("notify.sh")
	h.must(os.WriteFile(script, []byte("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > "+out+"\n"), 0o755))
	evil := fmt.Sprintf("x;touch %[1]s $(touch %[1]s)`touch %[1]s`|& %%1", pwned)
	id := h.job(evil, srv.URL("/f"), h.path("f"))
	h.must(h.m.SetDescription(id, evil))
	params := fmt.Sprintf(`%s "%s" ';' touch %s '$(touch %s)' "$HOME" %%1`, script, evil, pwned, pwned)
	h.must(h.m.SetNotifyCmdLine(id, script, params))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	var got []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(out)
		if err == nil && len(b) > 0 {
			got = b
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the notify program did not run")
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := strings.Join([]string{evil, ";", "touch", pwned, "$(touch " + pwned + ")", "$HOME", "%1"}, "\n") + "\n"
	if string(got) != want {
		t.Fatalf("the program got\n%s\nwant\n%s", got, want)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("shell syntax ran: the marker file exists")
	}
	if m, _ := filepath.Glob(h.path("*pwned*")); len(m) != 0 {
		t.Fatalf("files made: %v", m)
	}
}

package engine

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

func TestEventsAndNotifyFlags(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/1", testsrv.File{Size: 100})
	srv.Handle("/2", testsrv.File{Size: 100})
	h := newHarness(t)
	evs, stop := h.m.Subscribe()
	defer stop()
	id := h.job("events", srv.URL("/1"), h.path("1"), srv.URL("/2"), h.path("2"))
	h.must(h.m.SetNotifyFlags(id, bits.NotifyJobTransferred|bits.NotifyFileTransferred))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	_, err := h.m.Complete(id)
	h.must(err)
	var kinds []string
	files := 0
	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case e := <-evs:
			if e.Job.ID != id {
				continue
			}
			kinds = append(kinds, string(e.Kind))
			switch e.Kind {
			case EventFileTransferred:
				files++
				// The event names its file, and a job of a few files comes with its list.
				if !e.Notify || e.FileIndex != files-1 || e.File == nil || !e.File.Completed ||
					e.File.LocalName != h.path(fmt.Sprint(files)) || len(e.Job.Files) != 2 {
					t.Fatalf("fileTransferred %+v", e)
				}
			case EventTransferred:
				if !e.Notify {
					t.Fatal("transferred not marked for listeners with flag 0x1")
				}
			case EventModified:
				if e.Notify {
					t.Fatal("modified marked for listeners without flag 0x8")
				}
			case EventAcknowledged:
				done = true
			}
		case <-timeout:
			t.Fatalf("events so far: %v", kinds)
		}
	}
	// Progress adds any number of modified events; the milestones are fixed.
	want := []string{"created", "fileTransferred", "fileTransferred", "transferred", "acknowledged"}
	if !reflect.DeepEqual(stripModified(kinds), want) || files != 2 || kinds[1] != "modified" {
		t.Fatalf("events %v, want milestones %v", kinds, want)
	}
}

func stripModified(ks []string) []string {
	var out []string
	for _, k := range ks {
		if k != "modified" {
			out = append(out, k)
		}
	}
	return out
}

// A real program, run without a shell, with the job id as its argument.
func TestNotifyCmdLineRunsProgram(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 100})
	h := newHarness(t)
	out := h.path("notified")
	script := h.path("notify.sh")
	h.must(os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s|%s' \"$1\" \"$2\" > "+out+"\n"), 0o755))
	id := h.job("notify", srv.URL("/f"), h.path("f"))
	// bitsadmin style: the parameters start with the program; the quoted
	// argument arrives whole and $HOME is not expanded.
	h.must(h.m.SetNotifyCmdLine(id, script, fmt.Sprintf(`%s %s "two words $HOME"`, script, id)))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(out)
		if err == nil && len(b) > 0 {
			if string(b) != id+"|two words $HOME" {
				t.Fatalf("program got %q", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the notify program did not run")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNotifyCmdLineRetriedAfterFailure(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 100})
	var mu sync.Mutex
	var calls [][]string
	fail := true
	h := newHarness(t, func(c *Config) {
		c.RunNotify = func(_ context.Context, program string, args []string) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, append([]string{program}, args...))
			if fail {
				return fmt.Errorf("exit status 1")
			}
			return nil
		}
	})
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(calls) }
	waitCount := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d notify runs, want %d", count(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	id := h.job("retry-notify", srv.URL("/f"), h.path("f"))
	h.must(h.m.SetMinimumRetryDelay(id, 60))
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	// Set after the event: it still fires, as in BITS.
	h.must(h.m.SetNotifyCmdLine(id, "/usr/bin/env", "ARG1 arg2"))
	waitCount(1)
	if got := calls[0]; strings.Join(got, " ") != "/usr/bin/env ARG1 arg2" {
		t.Fatalf("argv %q", got)
	}
	// The failure is recorded (next attempt scheduled) before the clock moves.
	for deadline := time.Now().Add(10 * time.Second); ; {
		j, err := h.m.GetJob(id)
		h.must(err)
		if !j.NotifyAttemptAt.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the failed run was not recorded")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.advance(30 * time.Second)
	settle()
	if count() != 1 {
		t.Fatal("relaunched before the minimum retry delay")
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	h.advance(31 * time.Second)
	waitCount(2)
	h.advance(120 * time.Second)
	settle()
	if count() != 2 {
		t.Fatalf("relaunched after success: %d runs", count())
	}
}

func TestSplitCommandLine(t *testing.T) {
	for in, want := range map[string][]string{
		``:                      nil,
		`a b  c`:                {"a", "b", "c"},
		`"a b" 'c d' e"f g"h`:   {"a b", "c d", "ef gh"},
		`"say \"hi\"" \n`:       {`say "hi"`, `\n`},
		`$HOME ; rm -rf / | x`:  {"$HOME", ";", "rm", "-rf", "/", "|", "x"},
		"tab\tsep\nnewline":     {"tab", "sep", "newline"},
		`"" empty`:              {"", "empty"},
		`C:\Tools\notify.exe x`: {`C:\Tools\notify.exe`, "x"},
	} {
		got, err := SplitCommandLine(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SplitCommandLine(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := SplitCommandLine(`"open`); err == nil {
		t.Error("unclosed quote accepted")
	}
}

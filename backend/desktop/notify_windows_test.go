//go:build windows

package desktop

import (
	"testing"

	"ferry/backend/bits"
	"ferry/backend/engine"
)

func TestToastOfATransferredJob(t *testing.T) {
	ev := engine.Event{Kind: engine.EventTransferred, Notify: true, Job: bits.JobInfo{
		ID: "1b4e28ba-2fa1-11d2-883f-0016d3cca427", DisplayName: "nightly",
		Progress: bits.JobProgress{FilesTotal: 2, BytesTotal: 2048},
	}}
	msg, ok := notificationFor(ev)
	if !ok {
		t.Fatal("no notification for a transferred job")
	}
	tn := toastFor(msg)
	if tn.AppID != "Ferry" || tn.Title != "“nightly” transferred" || tn.Body == "" {
		t.Fatalf("toast %+v", tn)
	}
	if id, ok := openedJob(tn.ActivationArguments); !ok || id != ev.Job.ID {
		t.Fatalf("a click opens %q, %v", id, ok)
	}
	for _, args := range []string{"", "open:", "other:x"} {
		if id, ok := openedJob(args); ok {
			t.Fatalf("openedJob(%q) = %q", args, id)
		}
	}
}

// Run shows nothing for events that do not notify, and returns when the
// events end. (A toast itself is not pushed here: under Wine, WinRT's COM
// objects fail, and their leftovers crash the process at exit.)
func TestNotifierRunsAndCloses(t *testing.T) {
	n, err := NewNotifier(func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan engine.Event, 2)
	events <- engine.Event{Kind: engine.EventError, Notify: false, Job: bits.JobInfo{ID: "x", DisplayName: "a"}}
	events <- engine.Event{Kind: engine.EventCreated, Notify: true, Job: bits.JobInfo{ID: "y"}}
	close(events)
	n.Run(events)
	if err := n.Close(); err != nil || n.Close() != nil {
		t.Fatal("Close failed")
	}
}

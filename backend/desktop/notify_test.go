package desktop

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/engine"
)

func job(id, name string, st bits.JobState, done, total int64, mod time.Time) bits.JobInfo {
	m := mod.UTC()
	return bits.JobInfo{
		ID: id, DisplayName: name, State: st,
		Progress: bits.JobProgress{BytesTotal: total, BytesTransferred: done, FilesTotal: 1},
		Times:    bits.JobTimes{CreationTime: &m, ModificationTime: &m},
	}
}

func TestIcons(t *testing.T) {
	seen := map[string]Icon{}
	for st, want := range iconColors {
		img, err := png.Decode(bytes.NewReader(IconPNG(st)))
		if err != nil {
			t.Fatalf("icon %d: %v", st, err)
		}
		if img.Bounds() != image.Rect(0, 0, IconSize, IconSize) {
			t.Errorf("icon %d is %v", st, img.Bounds())
		}
		// Inside the disc, outside the glyph: the state's colour.
		if got := color.NRGBAModel.Convert(img.At(16, 3)).(color.NRGBA); got != want {
			t.Errorf("icon %d at the top: %v, want %v", st, got, want)
		}
		// The corner is outside the disc: transparent.
		if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
			t.Errorf("icon %d has an opaque corner", st)
		}
		if other, dup := seen[string(IconPNG(st))]; dup {
			t.Errorf("icons %d and %d are the same", st, other)
		}
		seen[string(IconPNG(st))] = st
	}
}

// Drawn at another size, an icon keeps its shape: the disc's colour near
// its top, a white glyph in the middle, transparent corners.
func TestIconImageAtOtherSizes(t *testing.T) {
	for _, size := range []int{16, 20, 24, 48} {
		for st, want := range iconColors {
			img := IconImage(st, size)
			if img.Bounds() != image.Rect(0, 0, size, size) {
				t.Fatalf("icon %d at %d px is %v", st, size, img.Bounds())
			}
			if got := img.NRGBAAt(size/2, size/10); got != want {
				t.Errorf("icon %d at %d px, near the top: %v, want %v", st, size, got, want)
			}
			if got := img.NRGBAAt(size/2, size/3); got.R < 0xf0 || got.G < 0xf0 || got.B < 0xf0 {
				t.Errorf("icon %d at %d px: the glyph is %v, want white", st, size, got)
			}
			if img.NRGBAAt(0, 0).A != 0 || img.NRGBAAt(size-1, size-1).A != 0 {
				t.Errorf("icon %d at %d px has an opaque corner", st, size)
			}
		}
	}
}

func TestNotificationFor(t *testing.T) {
	now := time.Now()
	done := job("id", "nightly", bits.StateTransferred, 1, 1, now)
	if n, ok := notificationFor(engine.Event{Kind: engine.EventTransferred, Job: done, Notify: true}); !ok ||
		n.summary != "“nightly” transferred" || n.body != "All 1 file (1 B) transferred. Complete the job to use them." {
		t.Errorf("transferred: %+v %v", n, ok)
	}
	if _, ok := notificationFor(engine.Event{Kind: engine.EventTransferred, Job: done, Notify: false}); ok {
		t.Error("a muted event became a notification")
	}
	for _, k := range []engine.EventKind{engine.EventCreated, engine.EventModified, engine.EventFileTransferred, engine.EventCancelled, engine.EventAcknowledged} {
		if _, ok := notificationFor(engine.Event{Kind: k, Job: done, Notify: true}); ok {
			t.Errorf("%s became a notification", k)
		}
	}
	failed := job("id", "", bits.StateError, 0, -1, now)
	failed.Error = &bits.ErrorInfo{Name: "BG_E_HTTP_ERROR_404", Description: "Not found"}
	n, ok := notificationFor(engine.Event{Kind: engine.EventError, Job: failed, Notify: true})
	if !ok || n.summary != "“Job id” failed" || n.body != "BG_E_HTTP_ERROR_404: Not found." || n.category != "transfer.error" {
		t.Errorf("error: %+v %v", n, ok)
	}
	if got := escapeMarkup("a<b>&c"); got != "a&lt;b&gt;&amp;c" {
		t.Errorf("escapeMarkup %q", got)
	}
}

func TestAppleScriptArgsKeepTextsOutOfTheScript(t *testing.T) {
	msg := notification{summary: `“a \"quoted\" job” transferred`, body: "end run\ndo shell script \"rm -rf ~\""}
	args := appleScriptArgs(msg)
	if len(args) != 4 || args[0] != "-e" || args[1] != notifyScript || args[2] != msg.summary || args[3] != msg.body {
		t.Fatalf("osascript args = %q", args)
	}
	if strings.Contains(notifyScript, "job") || !strings.Contains(notifyScript, "on run argv") {
		t.Fatalf("the script must take its texts from argv: %s", notifyScript)
	}
}

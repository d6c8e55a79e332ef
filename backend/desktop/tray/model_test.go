package tray

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/desktop"
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

func TestTrayModelCountsAndIcon(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := newTrayModel()
	if s := m.summary(now); s.text() != "Ferry — idle" || s.icon != desktop.IconIdle || s.busy() {
		t.Fatalf("empty model: %q icon %d busy %v", s.text(), s.icon, s.busy())
	}
	m.set(job("a", "a", bits.StateTransferring, 0, 10, now), now)
	m.set(job("b", "b", bits.StateConnecting, 0, 10, now), now)
	m.set(job("c", "c", bits.StateQueued, 0, 10, now), now)
	m.set(job("d", "d", bits.StateTransientError, 0, 10, now), now)
	s := m.summary(now)
	if s.active != 2 || s.icon != desktop.IconTransferring || !s.busy() {
		t.Fatalf("active %d icon %d busy %v", s.active, s.icon, s.busy())
	}
	if s.text() != "Ferry — 2 active, 0 B/s" {
		t.Errorf("text %q", s.text())
	}
	m.set(job("e", "e", bits.StateError, 0, 10, now), now)
	s = m.summary(now)
	if s.failed != 1 || s.icon != desktop.IconError || s.text() != "Ferry — 2 active, 0 B/s, 1 failed" {
		t.Errorf("with a failure: %q icon %d", s.text(), s.icon)
	}
	// Final states leave the tray.
	m.apply(engine.Event{Kind: engine.EventCancelled, Job: job("e", "e", bits.StateCancelled, 0, 10, now)}, now)
	m.apply(engine.Event{Kind: engine.EventAcknowledged, Job: job("a", "a", bits.StateAcknowledged, 10, 10, now)}, now)
	s = m.summary(now)
	if s.active != 1 || s.failed != 0 || len(m.jobs) != 3 {
		t.Errorf("after final states: active %d failed %d jobs %d", s.active, s.failed, len(m.jobs))
	}
}

// TestTrayModelMetered: jobs that their COST_FLAGS hold on a metered
// network say so in the tooltip and in their menu entry; other transient
// errors stay "Retrying".
func TestTrayModelMetered(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := newTrayModel()
	blocked := job("a", "nightly", bits.StateTransientError, 5, 10, now)
	blocked.Error = &bits.ErrorInfo{Code: bits.BG_E_BLOCKED_BY_COST_TRANSFER_POLICY}
	other := job("b", "other", bits.StateTransientError, 0, 10, now)
	other.Error = &bits.ErrorInfo{Code: bits.ERROR_WINHTTP_CANNOT_CONNECT}
	m.set(blocked, now)
	m.set(other, now)
	s := m.summary(now)
	if s.text() != "Ferry — 1 paused: metered network" || s.icon != desktop.IconIdle {
		t.Errorf("text %q icon %d", s.text(), s.icon)
	}
	if got := jobLabel(blocked); got != "nightly — Paused: metered network 50%" {
		t.Errorf("label %q", got)
	}
	if got := jobLabel(other); got != "other — Retrying 0%" {
		t.Errorf("label %q", got)
	}
}

func TestTrayModelRate(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	m := newTrayModel()
	// A job first seen mid-way has moved nothing since the tray started.
	m.set(job("a", "a", bits.StateTransferring, 5_000_000, 0, t0), t0)
	if r := m.rate(t0); r != 0 {
		t.Fatalf("rate of a first sighting %v", r)
	}
	m.set(job("a", "a", bits.StateTransferring, 6_000_000, 0, t0), at(1*time.Second))
	if r := m.rate(at(1 * time.Second)); r != 0 {
		t.Fatalf("rate from one sample %v, want 0 until a second", r)
	}
	m.set(job("a", "a", bits.StateTransferring, 8_000_000, 0, t0), at(2*time.Second))
	m.set(job("b", "b", bits.StateTransferring, 0, 0, t0), at(2*time.Second))
	m.set(job("b", "b", bits.StateTransferring, 1_000_000, 0, t0), at(3*time.Second))
	// Since the first growth at 1s: 3 MB in 2 s.
	if r := m.rate(at(3 * time.Second)); math.Abs(r-1_500_000) > 1 {
		t.Fatalf("rate %v, want 1.5 MB/s", r)
	}
	if s := m.summary(at(3 * time.Second)); s.text() != "Ferry — 2 active, 1.5 MB/s" {
		t.Errorf("text %q", s.text())
	}
	// A restarted file (fewer bytes) moves nothing backwards.
	m.set(job("b", "b", bits.StateTransferring, 0, 0, t0), at(3500*time.Millisecond))
	// The window slides: at 5s it starts at 2s, where 2 MB... were moved by then.
	if r := m.rate(at(5 * time.Second)); math.Abs(r-1_000_000/3.0) > 1 {
		t.Fatalf("rate at 5s %v, want 1 MB over the last 3 s", r)
	}
	// Stalled: the rate falls to zero, and the tray stops refreshing.
	m.set(job("a", "a", bits.StateSuspended, 8_000_000, 0, t0), at(6*time.Second))
	m.set(job("b", "b", bits.StateSuspended, 0, 0, t0), at(6*time.Second))
	s := m.summary(at(10 * time.Second))
	if s.rate != 0 || s.busy() {
		t.Errorf("stalled: rate %v busy %v", s.rate, s.busy())
	}
	if len(m.samples) > 1 {
		t.Errorf("old samples kept: %d", len(m.samples))
	}
}

func TestTrayModelRecentJobs(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	m := newTrayModel()
	for i := range 8 {
		m.set(job(fmt.Sprintf("id%d", i), fmt.Sprintf("job %d", i), bits.StateSuspended, 0, 0, t0.Add(time.Duration(i)*time.Second)), t0)
	}
	var names []string
	for _, j := range m.summary(t0).recent {
		names = append(names, j.DisplayName)
	}
	if want := []string{"job 7", "job 6", "job 5", "job 4", "job 3"}; !slices.Equal(names, want) {
		t.Errorf("recent %v, want %v", names, want)
	}
}

func TestLabels(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		j    bits.JobInfo
		want string
	}{
		{job("x", "nightly", bits.StateTransferring, 45, 100, now), "nightly — Transferring 45%"},
		{job("x", "nightly", bits.StateTransferred, 100, 100, now), "nightly — Transferred"},
		{job("x", "unsized", bits.StateConnecting, 0, -1, now), "unsized — Connecting"},
		{job("x", "retry", bits.StateTransientError, 0, 0, now), "retry — Retrying"},
		{job("0c7f6d1e-5a55-4b07-9d3f-2f2f7f1b9a10", "  ", bits.StateQueued, 0, 0, now), "Job 0c7f6d1e — Queued"},
		{job("x", strings.Repeat("é", 50), bits.StateSuspended, 0, 0, now), strings.Repeat("é", 39) + "… — Suspended"},
		{job("x", "a\tb\nc\u202ed", bits.StateSuspended, 0, 0, now), "a b c d — Suspended"},
	} {
		if got := jobLabel(c.j); got != c.want {
			t.Errorf("jobLabel = %q, want %q", got, c.want)
		}
	}
	for bps, want := range map[float64]string{0: "0 B/s", 999: "999 B/s", 1500: "1.5 kB/s", 3_400_000: "3.4 MB/s", 2.5e9: "2.5 GB/s"} {
		if got := formatRate(bps); got != want {
			t.Errorf("formatRate(%v) = %q, want %q", bps, got, want)
		}
	}
}

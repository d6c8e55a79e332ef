package tray

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"ferry/backend/bits"
	"ferry/backend/desktop"
	"ferry/backend/engine"
)

const (
	// recentJobs is how many jobs the menu lists.
	recentJobs = 5
	// rateWindow is how far back the shown rate looks: long enough to
	// smooth the bursts of coalesced progress events, short enough that
	// the rate falls to zero soon after bytes stop.
	rateWindow = 3 * time.Second
	// maxLabel keeps a long display name from widening the menu.
	maxLabel = 40
)

// menuText is a fixed item of the tray's menu: its label and tooltip.
type menuText struct{ label, tip string }

// The menu's fixed items, the same on every platform. Between Resume all
// and Quit come the recentJobs most recently changed jobs, or noTransfers.
var (
	itemShow    = menuText{"Show Ferry", "Open the Ferry window"}
	itemSuspend = menuText{"Suspend all", "Suspend every job"}
	itemResume  = menuText{"Resume all", "Resume every suspended job"}
	itemQuit    = menuText{"Quit", "Quit Ferry; transfers pause until it runs again"}
)

const noTransfers = "No transfers"

// trayModel is the tray's picture of the jobs, built from a snapshot and
// then from events alone. It does no I/O and takes the time as an argument,
// so that counts and rates are testable without a clock or a bus.
type trayModel struct {
	jobs    map[string]bits.JobInfo
	seen    map[string]int64 // last BytesTransferred of each job
	moved   int64            // bytes moved since the tray started, all jobs
	samples []rateSample     // moved over time, the last rateWindow and one before
}

type rateSample struct {
	at    time.Time
	moved int64
}

func newTrayModel() *trayModel {
	return &trayModel{jobs: map[string]bits.JobInfo{}, seen: map[string]int64{}}
}

// apply records one event: every event carries its job's new state.
func (m *trayModel) apply(ev engine.Event, now time.Time) { m.set(ev.Job, now) }

// set records a job's new state; a job in a final state leaves the tray.
func (m *trayModel) set(j bits.JobInfo, now time.Time) {
	if j.State.Final() {
		delete(m.jobs, j.ID)
		delete(m.seen, j.ID)
		return
	}
	m.jobs[j.ID] = j
	got := j.Progress.BytesTransferred
	prev, known := m.seen[j.ID]
	m.seen[j.ID] = got
	// Only growth counts: a job first seen mid-way has moved nothing since
	// the tray started, and a restarted file (smaller count) moved nothing.
	if known && got > prev {
		m.moved += got - prev
		m.samples = append(m.samples, rateSample{now, m.moved})
	}
}

// rate is the total rate in bytes per second over the last rateWindow.
func (m *trayModel) rate(now time.Time) float64 {
	start := now.Add(-rateWindow)
	// Keep the newest sample at or before the window's start as the
	// baseline, and the samples inside the window.
	i := 0
	for i+1 < len(m.samples) && !m.samples[i+1].at.After(start) {
		i++
	}
	m.samples = m.samples[i:]
	if len(m.samples) == 0 {
		return 0
	}
	base := m.samples[0]
	if len(m.samples) == 1 && base.at.After(start) {
		// The only sample is inside the window: the bytes before it have
		// no start time, so measure from the first growth on.
		return 0
	}
	from := base.at
	if from.Before(start) {
		from = start
	}
	dt := now.Sub(from).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(m.moved-base.moved) / dt
}

// traySummary is what the tray shows at one moment.
type traySummary struct {
	active int // CONNECTING or TRANSFERRING
	failed int // ERROR: waiting for the user
	costly int // waiting for a network their COST_FLAGS allow
	rate   float64
	icon   desktop.Icon
	recent []bits.JobInfo
}

func (m *trayModel) summary(now time.Time) traySummary {
	s := traySummary{rate: m.rate(now)}
	for _, j := range m.jobs {
		switch {
		case j.State.Active():
			s.active++
		case j.State == bits.StateError:
			s.failed++
		case costBlocked(j):
			s.costly++
		}
	}
	switch {
	case s.failed > 0:
		// A failure needs the user; progress of other jobs does not.
		s.icon = desktop.IconError
	case s.active > 0:
		s.icon = desktop.IconTransferring
	}
	s.recent = make([]bits.JobInfo, 0, len(m.jobs))
	for _, j := range m.jobs {
		s.recent = append(s.recent, j)
	}
	slices.SortFunc(s.recent, func(a, b bits.JobInfo) int {
		if c := lastTouched(b).Compare(lastTouched(a)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(s.recent) > recentJobs {
		s.recent = s.recent[:recentJobs]
	}
	return s
}

// busy reports whether the tray must refresh again without an event: the
// rate it shows changes with time while bytes move or just stopped moving.
func (s traySummary) busy() bool { return s.active > 0 || s.rate > 0 }

func lastTouched(j bits.JobInfo) time.Time {
	if t := j.Times.ModificationTime; t != nil {
		return *t
	}
	if t := j.Times.CreationTime; t != nil {
		return *t
	}
	return time.Time{}
}

// text is the tray's title and tooltip, e.g. "Ferry — 2 active, 3.4 MB/s",
// "Ferry — 1 paused: metered network".
func (s traySummary) text() string {
	var parts []string
	if s.active > 0 {
		parts = append(parts, fmt.Sprintf("%d active, %s", s.active, formatRate(s.rate)))
	}
	if s.failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", s.failed))
	}
	if s.costly > 0 {
		parts = append(parts, fmt.Sprintf("%d paused: metered network", s.costly))
	}
	if len(parts) == 0 {
		return "Ferry — idle"
	}
	return "Ferry — " + strings.Join(parts, ", ")
}

// jobLabel is a recent job's menu entry, e.g. "nightly — Transferring 45%".
// A name's control and bidi-override characters become spaces: a menu
// would read a tab as the start of an accelerator column, a newline as a
// second line, and an override would reorder the state after it.
func jobLabel(j bits.JobInfo) string {
	name := []rune(strings.Map(printable, desktop.JobName(j)))
	if len(name) > maxLabel {
		name = append(name[:maxLabel-1], '…')
	}
	state := stateText(j.State)
	if costBlocked(j) {
		state = "Paused: metered network"
	}
	label := string(name) + " — " + state
	if p := j.Progress; p.BytesTotal > 0 && j.State != bits.StateTransferred {
		label += fmt.Sprintf(" %d%%", p.BytesTransferred*100/p.BytesTotal)
	}
	return label
}

// costBlocked: the job waits for a network its COST_FLAGS allow.
func costBlocked(j bits.JobInfo) bool {
	return j.State == bits.StateTransientError && j.Error != nil && j.Error.Code == bits.BG_E_BLOCKED_BY_COST_TRANSFER_POLICY
}

func printable(r rune) rune {
	if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
		return ' '
	}
	return r
}

var stateTexts = map[bits.JobState]string{
	bits.StateQueued:         "Queued",
	bits.StateConnecting:     "Connecting",
	bits.StateTransferring:   "Transferring",
	bits.StateSuspended:      "Suspended",
	bits.StateError:          "Error",
	bits.StateTransientError: "Retrying",
	bits.StateTransferred:    "Transferred",
	bits.StateAcknowledged:   "Completed",
	bits.StateCancelled:      "Cancelled",
}

func stateText(s bits.JobState) string {
	if t, ok := stateTexts[s]; ok {
		return t
	}
	return s.String()
}

// formatRate prints a rate in decimal units, as browsers and download
// managers do: "512 B/s", "3.4 MB/s".
func formatRate(bps float64) string { return desktop.FormatSize(bps) + "/s" }

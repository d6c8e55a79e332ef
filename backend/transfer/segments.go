package transfer

import (
	"sync"
	"time"

	"ferry/backend/bits"
)

// RangeTarget is a Target that several connections may write at once, each
// at its own offset (a download in segments). The driver keeps the
// segments in a Table; the target records the table's Snapshot with each
// checkpoint, after an fsync, so every segment has its own durable offset.
type RangeTarget interface {
	Target
	// WriteAt writes p at off. It is called from several goroutines at once.
	WriteAt(p []byte, off int64) (int, error)
	// Ranged says that from now on the bytes arrive by the segments of
	// tab (whose Snapshot the target records). Reset ends it.
	Ranged(tab *Table) error
	// Connections reports how many connections the download holds open.
	Connections(n int)
}

// minSegment is the smallest range worth its own connection: below it the
// request's round trip costs more than the parallelism gives.
const minSegment = 256 << 10

// Table is the segments of one file: each is a range [start, end) of which
// [start, done) is written. A segment is worked on by at most one
// connection (its owner); a connection that finishes its segment takes an
// unowned one, or splits the segment expected to finish last, so the file
// ends when its slowest connection would have ended only its own share.
type Table struct {
	mu   sync.Mutex
	size int64
	segs []*segment
	now  func() time.Time
}

type segment struct {
	start, end int64 // end shrinks when another connection takes its tail
	done       int64 // written: WriteAt returned
	pending    int64 // being written now, above done
	owned      bool
	since      time.Time // when its owner took it
	from       int64     // done at since
}

// NewTable makes the table of a file of size bytes from recorded segments
// (none: one segment for the whole file). Recorded segments that do not fit
// the size are not trusted: the file starts over in one segment.
func NewTable(size int64, recorded []bits.Segment) *Table {
	t := &Table{size: size, now: time.Now}
	if ValidSegments(size, recorded) {
		for _, r := range recorded {
			t.segs = append(t.segs, &segment{start: r.Start, end: r.End, done: r.Done})
		}
	} else {
		t.segs = []*segment{{start: 0, end: size}}
	}
	return t
}

// ValidSegments reports segments that tile [0, size) in order, each with
// start <= done <= end.
func ValidSegments(size int64, segs []bits.Segment) bool {
	next := int64(0)
	for _, s := range segs {
		if s.Start != next || s.Done < s.Start || s.End < s.Done || s.End <= s.Start {
			return false
		}
		next = s.End
	}
	return len(segs) > 0 && next == size
}

// Size is the file's size.
func (t *Table) Size() int64 { return t.size }

// Snapshot is the segments as they are on disk: done counts only bytes
// whose WriteAt returned, so an fsync after it covers them.
func (t *Table) Snapshot() []bits.Segment {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]bits.Segment, 0, len(t.segs))
	for _, s := range t.segs {
		out = append(out, bits.Segment{Start: s.start, End: s.end, Done: s.done})
	}
	return out
}

// Written is the number of bytes written in all segments.
func (t *Table) Written() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, s := range t.segs {
		n += s.done - s.start
	}
	return n
}

// Finished reports every byte written.
func (t *Table) Finished() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.segs {
		if s.done < s.end {
			return false
		}
	}
	return true
}

// claim gives a connection work: an unowned segment with bytes left, or,
// with split, the tail of the segment expected to finish last (rates
// measured per segment; before any are known, the largest remaining
// range). nil: nothing is left that is worth a connection.
func (t *Table) claim(split bool) *segment {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, s := range t.segs {
		if !s.owned && s.done < s.end {
			s.owned, s.since, s.from = true, now, s.done
			return s
		}
	}
	if !split {
		return nil
	}
	avg := t.avgRate(now)
	var victim *segment
	var worst float64
	for _, s := range t.segs {
		left := s.end - s.done - s.pending
		if !s.owned || left < 2*minSegment {
			continue
		}
		if eta := float64(left) / t.rate(s, now, avg); victim == nil || eta > worst {
			victim, worst = s, eta
		}
	}
	if victim == nil {
		return nil
	}
	// The thief takes the share that makes both end together: the owner
	// keeps left*rv/(rv+rt) at its rate rv, the thief (at the average
	// rate) the rest.
	floor := victim.done + victim.pending
	left := victim.end - floor
	rv := t.rate(victim, now, avg)
	keep := int64(float64(left) * rv / (rv + avg))
	keep = min(max(keep, minSegment), left-minSegment)
	at := floor + keep
	n := &segment{start: at, end: victim.end, done: at, owned: true, since: now, from: at}
	victim.end = at
	// Keep the table in file order, so the recorded segments tile it.
	for i, s := range t.segs {
		if s == victim {
			t.segs = append(t.segs[:i+1], append([]*segment{n}, t.segs[i+1:]...)...)
			break
		}
	}
	return n
}

// rate is a segment's measured rate, pulled towards avg while it has run
// for little time (a new connection has no rate of its own yet).
func (t *Table) rate(s *segment, now time.Time, avg float64) float64 {
	const prior = 0.5 // seconds of the average rate assumed for every segment
	el := now.Sub(s.since).Seconds()
	return (float64(s.done-s.from) + avg*prior) / (el + prior)
}

// avgRate is the mean rate of the owned segments (1 when none has moved).
func (t *Table) avgRate(now time.Time) float64 {
	var bytes, secs float64
	for _, s := range t.segs {
		if s.owned {
			bytes += float64(s.done - s.from)
			secs += now.Sub(s.since).Seconds()
		}
	}
	if bytes <= 0 || secs <= 0 {
		return 1
	}
	return bytes / secs
}

// release gives a segment up (its connection failed or was dropped).
func (t *Table) release(s *segment) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.owned = false
}

// reserve clips n bytes at the segment's write offset to what is still its
// own, and marks them pending so that no split lands below them.
func (t *Table) reserve(s *segment, n int) (off int64, m int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m = int(min(int64(n), s.end-s.done))
	s.pending = int64(m)
	return s.done, m
}

// wrote records m bytes written at the segment's offset.
func (t *Table) wrote(s *segment, m int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.done += int64(m)
	s.pending = 0
}

// bounds is the segment's next range to fetch: [done, end).
func (t *Table) bounds(s *segment) (done, end int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return s.done, s.end
}

// extend gives a segment whose connection's reply goes on past its end
// the unowned segment that follows (up to upto, where the reply ends):
// after a fallback to one stream, the first reply ("bytes=0-") carries
// the rest of the file. Bytes the taken segment held are written again,
// identical (one version). It reports whether the segment grew.
func (t *Table) extend(s *segment, upto int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, n := range t.segs {
		if n != s || i+1 >= len(t.segs) {
			continue
		}
		next := t.segs[i+1]
		if next.owned || s.done != s.end || next.end > upto {
			return false
		}
		s.end = next.end
		t.segs = append(t.segs[:i+1], t.segs[i+2:]...)
		return true
	}
	return false
}

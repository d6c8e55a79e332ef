package engine

import (
	"sync"

	"ferry/backend/bits"
)

// EventKind names an event as cli.md's monitor stream does.
type EventKind string

const (
	EventCreated         EventKind = "created"
	EventModified        EventKind = "modified"
	EventTransferred     EventKind = "transferred"
	EventError           EventKind = "error"
	EventFileTransferred EventKind = "fileTransferred"
	EventCancelled       EventKind = "cancelled"
	EventAcknowledged    EventKind = "acknowledged"
	// EventOverflow is the last event of a subscriber that fell
	// SubscriberBuffer events behind; it carries no job.
	EventOverflow EventKind = "overflow"
	// EventSnapshot is a job as it stands when a listener starts or
	// resynchronises (monitor's first lines); the engine never publishes it.
	EventSnapshot EventKind = "snapshot"
)

// notifyBit maps an event to the BG_NOTIFY flag that lets it reach a job's
// listeners (0 = not governed by the flags).
func (k EventKind) notifyBit() bits.NotifyFlags {
	switch k {
	case EventTransferred:
		return bits.NotifyJobTransferred
	case EventError:
		return bits.NotifyJobError
	case EventModified:
		return bits.NotifyJobModification
	case EventFileTransferred:
		return bits.NotifyFileTransferred
	}
	return 0
}

// Event is one change of one job.
type Event struct {
	Kind EventKind    `json:"event"`
	Job  bits.JobInfo `json:"job"`
	// FileIndex is the file of a fileTransferred event, else -1; File is
	// that file (the job's info carries no files: a job of thousands of
	// files would make every event that large).
	FileIndex int            `json:"fileIndex"`
	File      *bits.FileInfo `json:"file,omitempty"`
	// Notify reports whether the job's notify flags let this event reach
	// its listeners, notify command line and desktop notifications.
	Notify bool `json:"notify"`
}

// SubscriberBuffer is how many events one subscriber may have pending. A
// subscriber that falls further behind is dropped: it gets one overflow
// event and its channel closes, and it lists the jobs again to resynchronise.
// So a stalled reader costs at most this many events, however long it
// stalls and however busy the engine is. A variable only so that tests can
// reach an overflow quickly; set it before the engine starts.
var SubscriberBuffer = 1024

// bus fans events out to subscribers. Each subscriber has a bounded queue in
// which a job's "modified" event replaces the job's pending one when that is
// the job's newest pending event: a slow reader sees fewer progress updates,
// never one out of order with the job's other events.
type bus struct {
	mu    sync.Mutex
	subs  map[*subscriber]struct{}
	limit int
}

type subscriber struct {
	mu    sync.Mutex
	queue []Event          // pending, oldest first
	head  int64            // sequence number of queue[0]
	last  map[string]int64 // a job's newest pending event, by sequence number
	limit int
	// overflowed: the queue went over limit; it has been emptied, and the
	// pump sends the overflow event and closes out.
	overflowed bool
	wake       chan struct{}
	out        chan Event
	done       chan struct{}
}

func newBus() *bus { return &bus{subs: map[*subscriber]struct{}{}, limit: SubscriberBuffer} }

// Subscribe returns a channel of every event from now on, and a function
// that ends the subscription. If the reader falls SubscriberBuffer events
// behind, the channel carries one EventOverflow and closes.
func (b *bus) Subscribe() (<-chan Event, func()) {
	s := &subscriber{last: map[string]int64{}, limit: b.limit,
		wake: make(chan struct{}, 1), out: make(chan Event), done: make(chan struct{})}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go s.pump()
	var once sync.Once
	return s.out, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
			close(s.done)
		})
	}
}

// publish runs under the manager's lock: it must never block.
func (b *bus) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if !s.push(e) {
			delete(b.subs, s) // overflowed: it gets nothing more
		}
	}
}

// push queues e; false means the subscriber overflowed and must be dropped.
func (s *subscriber) push(e Event) bool {
	s.mu.Lock()
	defer s.wakeUp()
	defer s.mu.Unlock()
	if s.overflowed {
		return false
	}
	if e.Kind == EventModified {
		if seq, ok := s.last[e.Job.ID]; ok {
			if i := seq - s.head; s.queue[i].Kind == EventModified {
				s.queue[i] = e
				return true
			}
		}
	}
	if len(s.queue) >= s.limit {
		// Drop what is pending at once: the reader resynchronises from a
		// fresh list, and the memory is free even if it never reads again.
		s.overflowed = true
		s.queue, s.last = nil, nil
		return false
	}
	s.last[e.Job.ID] = s.head + int64(len(s.queue))
	s.queue = append(s.queue, e)
	return true
}

func (s *subscriber) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) pump() {
	defer close(s.out)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			overflowed := s.overflowed
			s.mu.Unlock()
			if overflowed {
				select {
				case s.out <- Event{Kind: EventOverflow, FileIndex: -1}:
				case <-s.done:
				}
				return
			}
			select {
			case <-s.wake:
				continue
			case <-s.done:
				return
			}
		}
		e := s.queue[0]
		s.queue[0] = Event{} // let the job info go
		s.queue = s.queue[1:]
		if s.last[e.Job.ID] == s.head {
			delete(s.last, e.Job.ID)
		}
		s.head++
		s.mu.Unlock()
		select {
		case s.out <- e:
		case <-s.done:
			return
		}
	}
}

// Watch is Subscribe for in-process listeners that must go on for the
// engine's whole life (the tray, desktop notifications): when the listener
// falls behind and is dropped, Watch subscribes again and sends one
// EventSnapshot per job, so the listener catches up instead of going deaf.
// The overflow itself is not passed on.
func (m *Manager) Watch() (<-chan Event, func()) {
	out := make(chan Event)
	done := make(chan struct{})
	evs, unsubscribe := m.Subscribe()
	var mu sync.Mutex
	go func() {
		defer close(out)
		send := func(e Event) bool {
			select {
			case out <- e:
				return true
			case <-done:
				return false
			}
		}
		for {
			e, ok := <-evs
			if !ok {
				return // unsubscribed
			}
			if e.Kind != EventOverflow {
				if !send(e) {
					return
				}
				continue
			}
			mu.Lock()
			select {
			case <-done:
				mu.Unlock()
				return
			default:
			}
			evs, unsubscribe = m.Subscribe()
			mu.Unlock()
			for _, j := range m.List(false, false) {
				if !send(Event{Kind: EventSnapshot, Job: j, FileIndex: -1}) {
					return
				}
			}
		}
	}()
	var once sync.Once
	return out, func() {
		once.Do(func() {
			mu.Lock()
			close(done)
			unsubscribe()
			mu.Unlock()
		})
	}
}

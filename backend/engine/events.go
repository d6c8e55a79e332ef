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

// bus fans events out to subscribers. Each subscriber has an unbounded queue
// in which a pending "modified" event of a job is replaced by the newer one,
// so a slow reader costs memory per job, not per byte moved.
type bus struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	mu    sync.Mutex
	queue []Event
	wake  chan struct{}
	out   chan Event
	done  chan struct{}
}

func newBus() *bus { return &bus{subs: map[*subscriber]struct{}{}} }

// Subscribe returns a channel of every event from now on, and a function
// that ends the subscription.
func (b *bus) Subscribe() (<-chan Event, func()) {
	s := &subscriber{wake: make(chan struct{}, 1), out: make(chan Event), done: make(chan struct{})}
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

func (b *bus) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.push(e)
	}
}

func (s *subscriber) push(e Event) {
	s.mu.Lock()
	if e.Kind == EventModified {
		for i := range s.queue {
			if s.queue[i].Kind == EventModified && s.queue[i].Job.ID == e.Job.ID {
				s.queue[i] = e
				s.mu.Unlock()
				return
			}
		}
	}
	s.queue = append(s.queue, e)
	s.mu.Unlock()
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
			s.mu.Unlock()
			select {
			case <-s.wake:
				continue
			case <-s.done:
				return
			}
		}
		e := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		select {
		case s.out <- e:
		case <-s.done:
			return
		}
	}
}

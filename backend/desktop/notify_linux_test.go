package desktop

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/internal/testbus"

	"github.com/godbus/dbus/v5"
)

// fakeNotifications is the least an org.freedesktop.Notifications server
// does: it takes notifications, numbers them, and reports its abilities.
type fakeNotifications struct {
	conn *dbus.Conn
	got  chan notifyCall

	mu   sync.Mutex
	next uint32
}

type notifyCall struct {
	id       uint32
	app      string
	replaces uint32
	summary  string
	body     string
	actions  []string
	hints    map[string]dbus.Variant
}

func (s *fakeNotifications) Notify(app string, replaces uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	s.mu.Lock()
	id := replaces
	if id == 0 {
		s.next++
		id = s.next
	}
	s.mu.Unlock()
	s.got <- notifyCall{id, app, replaces, summary, body, actions, hints}
	return id, nil
}

func (s *fakeNotifications) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"actions", "body", "body-markup"}, nil
}

func (s *fakeNotifications) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "fake", "ferry tests", "1", "1.2", nil
}

func (s *fakeNotifications) CloseNotification(id uint32) *dbus.Error {
	s.emitClosed(id)
	return nil
}

func (s *fakeNotifications) emitClosed(id uint32) {
	s.conn.Emit(notifyPath, notifyIface+".NotificationClosed", id, uint32(3))
}

func (s *fakeNotifications) click(t *testing.T, id uint32) {
	t.Helper()
	if err := s.conn.Emit(notifyPath, notifyIface+".ActionInvoked", id, "default"); err != nil {
		t.Fatal(err)
	}
}

func (s *fakeNotifications) next1(t *testing.T) notifyCall {
	t.Helper()
	select {
	case c := <-s.got:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no notification arrived")
	}
	return notifyCall{}
}

func startNotifications(t *testing.T) *fakeNotifications {
	t.Helper()
	s := &fakeNotifications{conn: testbus.Conn(t), got: make(chan notifyCall, 16)}
	if err := s.conn.Export(s, notifyPath, notifyIface); err != nil {
		t.Fatal(err)
	}
	testbus.Own(t, s.conn, notifyName)
	return s
}

func TestNotifierNeedsASessionBus(t *testing.T) {
	testbus.NoBus(t)
	if _, err := NewNotifier(nil); !errors.Is(err, ErrNoSessionBus) {
		t.Fatalf("NewNotifier without a bus: %v, want ErrNoSessionBus", err)
	}
}

func TestNotifier(t *testing.T) {
	testbus.Private(t)
	if _, err := NewNotifier(nil); !errors.Is(err, ErrNoNotificationServer) {
		t.Fatalf("NewNotifier without a server: %v, want ErrNoNotificationServer", err)
	}
	srv := startNotifications(t)

	opened := make(chan string, 4)
	n, err := NewNotifier(func(id string) { opened <- id })
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan engine.Event)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		n.Run(events)
	}()
	send := func(kind engine.EventKind, j bits.JobInfo, notify bool) {
		t.Helper()
		select {
		case events <- engine.Event{Kind: kind, Job: j, FileIndex: -1, Notify: notify}:
		case <-time.After(5 * time.Second):
			t.Fatal("the notifier does not consume events")
		}
	}
	now := time.Now()
	nightly := job("11111111-0000-0000-0000-000000000001", "nightly", bits.StateTransferred, 3_400_000, 3_400_000, now)
	nightly.Progress.FilesTotal, nightly.Progress.FilesTransferred = 2, 2
	quiet := job("22222222-0000-0000-0000-000000000002", "quiet", bits.StateTransferred, 10, 10, now)
	broken := job("33333333-0000-0000-0000-000000000003", "broken", bits.StateError, 0, -1, now)
	broken.Error = &bits.ErrorInfo{Name: "BG_E_HTTP_ERROR_404", Description: "The requested URL does not exist on the server",
		File: &bits.ErrorFile{RemoteName: "http://example.org/a?x=1&y=2"}}

	// Flags that keep an event from its listeners keep it off the desktop
	// too; the server sees notifications in order, so the first one to
	// arrive proves the muted one was never sent.
	send(engine.EventTransferred, quiet, false)
	send(engine.EventModified, nightly, true) // not an event worth a notification
	send(engine.EventTransferred, nightly, true)
	first := srv.next1(t)
	if first.summary != "“nightly” transferred" {
		t.Fatalf("first notification %q, want the one for nightly", first.summary)
	}
	if first.app != "Ferry" || first.replaces != 0 {
		t.Errorf("app %q replaces %d", first.app, first.replaces)
	}
	if want := "All 2 files (3.4 MB) transferred. Complete the job to use them."; first.body != want {
		t.Errorf("body %q, want %q", first.body, want)
	}
	if strings.Join(first.actions, ",") != "default,Open" {
		t.Errorf("actions %v", first.actions)
	}
	if c := first.hints["category"].Value(); c != "transfer.complete" {
		t.Errorf("category %v", c)
	}
	if _, ok := first.hints["image-data"]; !ok {
		t.Error("no image-data hint")
	}

	send(engine.EventError, broken, true)
	failed := srv.next1(t)
	if failed.summary != "“broken” failed" {
		t.Fatalf("summary %q", failed.summary)
	}
	// The server reads markup (body-markup), so the URL's & is escaped.
	want := "BG_E_HTTP_ERROR_404: The requested URL does not exist on the server. (http://example.org/a?x=1&amp;y=2)"
	if failed.body != want {
		t.Errorf("body %q, want %q", failed.body, want)
	}

	// A click on the notification opens its job.
	srv.click(t, first.id)
	select {
	case id := <-opened:
		if id != nightly.ID {
			t.Fatalf("opened %q, want %q", id, nightly.ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a click on the notification did not open the job")
	}

	// A closed notification is forgotten: a late click on it opens nothing.
	srv.emitClosed(failed.id)
	srv.click(t, failed.id)
	// A job's next notification replaces its open one.
	send(engine.EventTransferred, nightly, true)
	if again := srv.next1(t); again.replaces != first.id {
		t.Errorf("the second notification of a job replaces %d, want %d", again.replaces, first.id)
	}
	select {
	case id := <-opened:
		t.Fatalf("a click on a closed notification opened %q", id)
	case <-time.After(200 * time.Millisecond):
	}

	n.Close()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	n.Close()

	// Without onOpen, notifications offer nothing to click.
	n2, err := NewNotifier(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	events2 := make(chan engine.Event, 1)
	events2 <- engine.Event{Kind: engine.EventTransferred, Job: quiet, FileIndex: -1, Notify: true}
	close(events2)
	n2.Run(events2) // returns when the channel is closed
	if c := srv.next1(t); c.summary != "“quiet” transferred" || len(c.actions) != 0 {
		t.Errorf("notification %q with actions %v", c.summary, c.actions)
	}
}

package desktop

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"sync"

	"ferry/backend/engine"

	"github.com/godbus/dbus/v5"
)

const (
	notifyName  = "org.freedesktop.Notifications"
	notifyPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	notifyIface = "org.freedesktop.Notifications"
)

// Notifier shows a desktop notification when a job transfers or fails, as
// the job's notify flags allow, through org.freedesktop.Notifications on
// the session bus. Clicking a notification calls onOpen with the job id.
// It has its own bus connection, so the headless engine can use it as well
// as the desktop app.
type Notifier struct {
	conn   *dbus.Conn
	onOpen func(id string)
	caps   map[string]bool

	mu     sync.Mutex
	jobOf  map[uint32]string // open notification → job
	openOf map[string]uint32 // job → its open notification, replaced by the next
	failed bool              // the last Notify failed: logged once, not per event

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// NewNotifier connects to the session bus and the notification server.
// Without a session bus it returns an error wrapping ErrNoSessionBus,
// without a server one wrapping ErrNoNotificationServer; the caller logs it
// once and goes on without notifications. onOpen may be nil: notifications
// then offer no click action.
func NewNotifier(onOpen func(id string)) (*Notifier, error) {
	conn, err := SessionBus()
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	n := &Notifier{
		conn: conn, onOpen: onOpen, caps: map[string]bool{},
		jobOf: map[uint32]string{}, openOf: map[string]uint32{},
		done: make(chan struct{}),
	}
	// GetCapabilities also starts a D-Bus-activated server that is not
	// running yet, and proves that one answers.
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	var caps []string
	if err := conn.Object(notifyName, notifyPath).CallWithContext(ctx, notifyIface+".GetCapabilities", 0).Store(&caps); err != nil {
		conn.Close()
		return nil, fmt.Errorf("notifications: %w: %v", ErrNoNotificationServer, err)
	}
	for _, c := range caps {
		n.caps[c] = true
	}
	// Subscribe before the first notification is sent, so no click is
	// missed. The sender match is by well-known name: the bus delivers
	// only the server's signals, not another client's imitation.
	for _, member := range []string{"ActionInvoked", "NotificationClosed"} {
		if err := conn.AddMatchSignal(
			dbus.WithMatchSender(notifyName),
			dbus.WithMatchObjectPath(notifyPath),
			dbus.WithMatchInterface(notifyIface),
			dbus.WithMatchMember(member),
		); err != nil {
			conn.Close()
			return nil, fmt.Errorf("notifications: subscribing to %s: %w", member, err)
		}
	}
	sigs := make(chan *dbus.Signal, 16)
	conn.Signal(sigs)
	n.wg.Add(1)
	go n.signals(sigs)
	return n, nil
}

// Run shows the notifications for events until events is closed or Close
// is called. Notify calls are synchronous and bounded by CallTimeout, so a
// hung server delays notifications but never the engine (its event queue
// per subscriber is unbounded).
func (n *Notifier) Run(events <-chan engine.Event) {
	deliver(n.done, events, n.send)
}

// Close ends Run and the connection. Safe more than once.
func (n *Notifier) Close() error {
	n.closeOnce.Do(func() {
		close(n.done)
		n.conn.Close()
		n.wg.Wait()
	})
	return nil
}

func (n *Notifier) send(msg notification) {
	body := msg.body
	if n.caps["body-markup"] {
		body = escapeMarkup(body)
	}
	var actions []string
	if n.onOpen != nil {
		// "default" is the click on the notification itself.
		actions = []string{"default", "Open"}
	}
	hints := map[string]dbus.Variant{
		"desktop-entry": dbus.MakeVariant("ferry"),
		"category":      dbus.MakeVariant(msg.category),
		"urgency":       dbus.MakeVariant(byte(1)), // normal: the job waits, nothing is lost
		"image-data":    dbus.MakeVariant(imageData(msg.icon)),
	}
	// The lock is held across the call: the server may click or close the
	// notification before this goroutine has read the reply, and the signal
	// handler must then wait until the id is known.
	n.mu.Lock()
	defer n.mu.Unlock()
	replaces := n.openOf[msg.jobID] // the job's older notification is outdated
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	var id uint32
	err := n.conn.Object(notifyName, notifyPath).CallWithContext(ctx, notifyIface+".Notify", 0,
		"Ferry", replaces, "", msg.summary, body, actions, hints, int32(-1)).Store(&id)
	if err != nil {
		select {
		case <-n.done:
			return // closed under the call: not a failure worth a log line
		default:
		}
		if !n.failed {
			slog.Warn("desktop notification failed; further failures are not logged until one succeeds", "job", msg.jobID, "err", err)
		}
		n.failed = true
		return
	}
	n.failed = false
	if replaces != 0 && replaces != id {
		delete(n.jobOf, replaces)
	}
	n.jobOf[id] = msg.jobID
	n.openOf[msg.jobID] = id
}

// iconImage returns the pixels of a state's icon; callers must not modify them.
func iconImage(st Icon) *image.NRGBA { return icons()[st].img }

// imageData is the spec's (iiibiiay) raw image: the icon travels with the
// notification, so it shows without an icon theme entry for Ferry.
func imageData(st Icon) any {
	img := iconImage(st)
	return struct {
		Width, Height, RowStride int32
		HasAlpha                 bool
		BitsPerSample, Channels  int32
		Data                     []byte
	}{int32(img.Rect.Dx()), int32(img.Rect.Dy()), int32(img.Stride), true, 8, 4, img.Pix}
}

// signals handles clicks and closes until the connection closes.
func (n *Notifier) signals(sigs <-chan *dbus.Signal) {
	defer n.wg.Done()
	for {
		select {
		case <-n.done:
			return
		case sig, ok := <-sigs:
			if !ok {
				return
			}
			if sig == nil || sig.Path != notifyPath || len(sig.Body) < 2 {
				continue
			}
			id, _ := sig.Body[0].(uint32)
			switch sig.Name {
			case notifyIface + ".ActionInvoked":
				key, _ := sig.Body[1].(string)
				n.mu.Lock()
				job, ok := n.jobOf[id]
				n.mu.Unlock()
				if ok && key == "default" && n.onOpen != nil {
					// Off this goroutine: onOpen may well call Close.
					go n.onOpen(job)
				}
			case notifyIface + ".NotificationClosed":
				n.mu.Lock()
				if job, ok := n.jobOf[id]; ok {
					delete(n.jobOf, id)
					if n.openOf[job] == id {
						delete(n.openOf, job)
					}
				}
				n.mu.Unlock()
			}
		}
	}
}

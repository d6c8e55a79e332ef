package tray

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/desktop"
	"ferry/backend/engine"
	"ferry/backend/internal/testbus"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// fakeWatcher is the least a StatusNotifierWatcher does: it takes
// registrations and says whether a host (a panel) is behind it.
type fakeWatcher struct {
	conn  *dbus.Conn
	items chan itemRef
}

// itemRef locates a registered StatusNotifierItem.
type itemRef struct {
	bus  string
	path dbus.ObjectPath
}

// RegisterStatusNotifierItem follows the spec: the argument is a bus name
// or an object path on the caller's connection.
func (w *fakeWatcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	ref := itemRef{string(sender), dbus.ObjectPath(service)}
	if !strings.HasPrefix(service, "/") {
		ref = itemRef{service, "/StatusNotifierItem"}
	}
	select {
	case w.items <- ref:
	default:
	}
	return nil
}

func (w *fakeWatcher) RegisterStatusNotifierHost(service string) *dbus.Error { return nil }

func startWatcher(t *testing.T, hosted bool) *fakeWatcher {
	t.Helper()
	w := &fakeWatcher{conn: testbus.Conn(t), items: make(chan itemRef, 4)}
	if err := w.conn.Export(w, watcherPath, watcherName); err != nil {
		t.Fatal(err)
	}
	if _, err := prop.Export(w.conn, watcherPath, map[string]map[string]*prop.Prop{watcherName: {
		"IsStatusNotifierHostRegistered": {Value: hosted},
		"ProtocolVersion":                {Value: int32(0)},
		"RegisteredStatusNotifierItems":  {Value: []string{}},
	}}); err != nil {
		t.Fatal(err)
	}
	testbus.Own(t, w.conn, watcherName)
	return w
}

func (w *fakeWatcher) registration(t *testing.T) itemRef {
	t.Helper()
	select {
	case ref := <-w.items:
		return ref
	case <-time.After(10 * time.Second):
		t.Fatal("the tray never registered with the watcher")
	}
	return itemRef{}
}

// sniProp reads one StatusNotifierItem property of the item.
//
// The test reads the icon only once the tooltip shows the state it waits
// for, never while the tray may still change it: fyne.io/systray
// overwrites in place the pixmap that an in-flight reply encodes, and the
// race detector would (rightly) see that. The tray sets the tooltip after
// the icon, so a tooltip in the expected state means a settled icon.
func sniProp(t *testing.T, conn *dbus.Conn, ref itemRef, name string) dbus.Variant {
	t.Helper()
	var v dbus.Variant
	if err := conn.Object(ref.bus, ref.path).Call("org.freedesktop.DBus.Properties.Get", 0,
		"org.kde.StatusNotifierItem", name).Store(&v); err != nil {
		t.Fatalf("Get %s on the item: %v", name, err)
	}
	return v
}

type sniTooltip struct {
	Name  string
	Icons []sniPixmap
	Title string
	Text  string
}

type sniPixmap struct {
	W, H int32
	Pix  []byte
}

func tooltip(t *testing.T, conn *dbus.Conn, ref itemRef) string {
	t.Helper()
	v := sniProp(t, conn, ref, "ToolTip")
	var tt sniTooltip
	if err := dbus.Store([]any{v.Value()}, &tt); err != nil {
		t.Fatalf("ToolTip %v: %v", v, err)
	}
	return tt.Title
}

func title(t *testing.T, conn *dbus.Conn, ref itemRef) string {
	t.Helper()
	s, _ := sniProp(t, conn, ref, "Title").Value().(string)
	return s
}

func pixmap(t *testing.T, conn *dbus.Conn, ref itemRef) sniPixmap {
	t.Helper()
	v := sniProp(t, conn, ref, "IconPixmap")
	var px []sniPixmap
	if err := dbus.Store([]any{v.Value()}, &px); err != nil {
		t.Fatalf("IconPixmap %v: %v", v.Signature(), err)
	}
	if len(px) != 1 {
		t.Fatalf("IconPixmap has %d images, want 1", len(px))
	}
	return px[0]
}

// menuEntry is one visible item of the dbusmenu layout.
type menuEntry struct {
	id        int32
	label     string
	separator bool
	enabled   bool
}

func (e menuEntry) String() string {
	if e.separator {
		return "---"
	}
	if !e.enabled {
		return "(" + e.label + ")"
	}
	return e.label
}

// menu reads the item's dbusmenu layout and returns its visible entries.
func menu(t *testing.T, conn *dbus.Conn, ref itemRef, menuPath dbus.ObjectPath) []menuEntry {
	t.Helper()
	var rev uint32
	var root struct {
		ID       int32
		Props    map[string]dbus.Variant
		Children []dbus.Variant
	}
	if err := conn.Object(ref.bus, menuPath).Call("com.canonical.dbusmenu.GetLayout", 0,
		int32(0), int32(-1), []string{}).Store(&rev, &root); err != nil {
		t.Fatalf("GetLayout: %v", err)
	}
	var out []menuEntry
	for _, c := range root.Children {
		var node struct {
			ID       int32
			Props    map[string]dbus.Variant
			Children []dbus.Variant
		}
		if err := dbus.Store([]any{c.Value()}, &node); err != nil {
			t.Fatalf("menu node %v: %v", c, err)
		}
		if v, ok := node.Props["visible"]; ok && v.Value() == false {
			continue
		}
		e := menuEntry{id: node.ID, enabled: true}
		if v, ok := node.Props["type"]; ok && v.Value() == "separator" {
			e.separator = true
		}
		if v, ok := node.Props["label"]; ok {
			e.label, _ = v.Value().(string)
		}
		if v, ok := node.Props["enabled"]; ok {
			e.enabled, _ = v.Value().(bool)
		}
		out = append(out, e)
	}
	return out
}

func menuStrings(entries []menuEntry) []string {
	var s []string
	for _, e := range entries {
		s = append(s, e.String())
	}
	return s
}

func click(t *testing.T, conn *dbus.Conn, ref itemRef, menuPath dbus.ObjectPath, entries []menuEntry, label string) {
	t.Helper()
	for _, e := range entries {
		if e.label == label {
			if err := conn.Object(ref.bus, menuPath).Call("com.canonical.dbusmenu.Event", 0,
				e.id, "clicked", dbus.MakeVariant(""), uint32(0)).Err; err != nil {
				t.Fatalf("clicking %q: %v", label, err)
			}
			return
		}
	}
	t.Fatalf("no menu item %q in %v", label, menuStrings(entries))
}

func expectCall(t *testing.T, calls <-chan string, want string) {
	t.Helper()
	select {
	case got := <-calls:
		if got != want {
			t.Fatalf("action %q ran, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("action %q never ran", want)
	}
}

func testJob(id, name string, st bits.JobState, done, total int64, mod time.Time) bits.JobInfo {
	m := mod.UTC()
	return bits.JobInfo{
		ID: id, DisplayName: name, State: st,
		Progress: bits.JobProgress{BytesTotal: total, BytesTransferred: done, FilesTotal: 1},
		Times:    bits.JobTimes{CreationTime: &m, ModificationTime: &m},
	}
}

func TestTrayNeedsASessionBus(t *testing.T) {
	testbus.NoBus(t)
	tray, err := Start(desktop.Actions{}, nil, nil)
	if !errors.Is(err, desktop.ErrNoSessionBus) {
		t.Fatalf("StartTray without a bus: %v, want desktop.ErrNoSessionBus", err)
	}
	if tray.Available() {
		t.Fatal("a nil tray reports Available")
	}
	tray.Stop() // safe on the nil tray the caller got
}

// TestTray drives the one tray a process may run through its whole life,
// in a process of its own and on a private bus: registration, properties, menu, events, clicks,
// the panel going away and coming back, and stop.
func TestTray(t *testing.T) {
	if !testbus.InOwnProcess(t) {
		return
	}
	testbus.Private(t)
	conn := testbus.Conn(t)

	calls := make(chan string, 16)
	actions := desktop.Actions{
		Show:       func() { calls <- "show" },
		SuspendAll: func() { calls <- "suspend" },
		ResumeAll:  func() { calls <- "resume" },
		OpenJob:    func(id string) { calls <- "open " + id },
		Quit:       func() { calls <- "quit" },
	}
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	snapshot := []bits.JobInfo{testJob("00000000-0000-0000-0000-00000000000a", "nightly_build", bits.StateSuspended, 0, 100, t0)}
	events := make(chan engine.Event)

	// No panel yet (Ferry autostarted before it): the tray starts, but
	// does not count as shown, so closing the window quits.
	tray, err := Start(actions, func() []bits.JobInfo { return snapshot }, events)
	if err != nil {
		t.Fatalf("Start without a watcher: %v", err)
	}
	defer tray.Stop()
	if tray.Available() {
		t.Fatal("a tray without a watcher is Available")
	}

	// A watcher without a host appears: the item registers with it, but
	// nothing draws it.
	hostless := startWatcher(t, false)
	hostless.registration(t)
	time.Sleep(200 * time.Millisecond) // long enough for a wrong Available to show
	if tray.Available() {
		t.Fatal("a tray with a hostless watcher is Available")
	}
	hostless.conn.Close()
	testbus.Eventually(t, "the hostless watcher to leave", func() bool {
		has, err := desktop.NameHasOwner(conn, watcherName)
		return err == nil && !has
	})

	// The panel starts: the item registers and the tray is shown.
	w := startWatcher(t, true)
	ref := w.registration(t)
	testbus.Eventually(t, "Available with a panel that started late", tray.Available)
	if _, err := Start(actions, nil, nil); err == nil {
		t.Fatal("a second Start in one process succeeded")
	}

	if ref.path != "/StatusNotifierItem" {
		t.Fatalf("registered path %q", ref.path)
	}
	if got := title(t, conn, ref); got != "Ferry — idle" {
		t.Errorf("Title = %q", got)
	}
	if got := tooltip(t, conn, ref); got != "Ferry — idle" {
		t.Errorf("ToolTip title = %q", got)
	}
	if got := sniProp(t, conn, ref, "Status").Value(); got != "Active" {
		t.Errorf("Status = %v", got)
	}
	menuPath, _ := sniProp(t, conn, ref, "Menu").Value().(dbus.ObjectPath)
	if menuPath == "" {
		t.Fatal("no Menu property")
	}

	// The snapshot's job appears under the fixed items.
	var entries []menuEntry
	wantIdle := []string{"Show Ferry", "Suspend all", "Resume all", "---", "nightly__build — Suspended 0%", "---", "Quit"}
	testbus.Eventually(t, "the snapshot in the menu", func() bool {
		entries = menu(t, conn, ref, menuPath)
		return slices.Equal(menuStrings(entries), wantIdle)
	})
	idleIcon := pixmap(t, conn, ref)
	if idleIcon.W != desktop.IconSize || idleIcon.H != desktop.IconSize || len(idleIcon.Pix) != desktop.IconSize*desktop.IconSize*4 {
		t.Fatalf("IconPixmap %dx%d with %d bytes", idleIcon.W, idleIcon.H, len(idleIcon.Pix))
	}

	// Two jobs start moving: the title counts them and shows a rate, the
	// icon changes, and the most recently modified job comes first.
	alpha, beta := "00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000b2"
	send := func(kind engine.EventKind, j bits.JobInfo, notify bool) {
		t.Helper()
		select {
		case events <- engine.Event{Kind: kind, Job: j, FileIndex: -1, Notify: notify}:
		case <-time.After(5 * time.Second):
			t.Fatal("the tray does not consume events")
		}
	}
	send(engine.EventModified, testJob(alpha, "alpha", bits.StateTransferring, 0, 10_000_000, t0.Add(time.Minute)), false)
	send(engine.EventModified, testJob(beta, "beta", bits.StateConnecting, 0, -1, t0.Add(2*time.Minute)), false)
	for i := int64(1); i <= 5; i++ {
		time.Sleep(100 * time.Millisecond)
		send(engine.EventModified, testJob(alpha, "alpha", bits.StateTransferring, i*1_000_000, 10_000_000, t0.Add(3*time.Minute)), false)
	}
	busyText := regexp.MustCompile(`^Ferry — 2 active, [0-9.]+ (B|kB|MB|GB)/s$`)
	testbus.Eventually(t, "the tooltip to count 2 active transfers", func() bool {
		return busyText.MatchString(tooltip(t, conn, ref))
	})
	if got := title(t, conn, ref); !busyText.MatchString(got) {
		t.Errorf("Title = %q", got)
	}
	busyIcon := pixmap(t, conn, ref)
	if slices.Equal(busyIcon.Pix, idleIcon.Pix) {
		t.Error("the icon did not change when transfers started")
	}
	testbus.Eventually(t, "the menu to list the moving jobs", func() bool {
		entries = menu(t, conn, ref, menuPath)
		s := menuStrings(entries)
		return len(s) == 9 && s[4] == "alpha — Transferring 50%" && s[5] == "beta — Connecting" &&
			s[6] == "nightly__build — Suspended 0%"
	})

	// Clicks reach the actions; a job item opens its job.
	click(t, conn, ref, menuPath, entries, "Show Ferry")
	expectCall(t, calls, "show")
	click(t, conn, ref, menuPath, entries, "Suspend all")
	expectCall(t, calls, "suspend")
	click(t, conn, ref, menuPath, entries, "Resume all")
	expectCall(t, calls, "resume")
	click(t, conn, ref, menuPath, entries, "alpha — Transferring 50%")
	expectCall(t, calls, "open "+alpha)
	click(t, conn, ref, menuPath, entries, "Quit")
	expectCall(t, calls, "quit")
	// A left click on the icon itself shows the window.
	if err := conn.Object(ref.bus, ref.path).Call("org.kde.StatusNotifierItem.Activate", 0, int32(0), int32(0)).Err; err != nil {
		t.Fatalf("Activate: %v", err)
	}
	expectCall(t, calls, "show")

	// A failure turns the icon to the error state and is counted; a
	// cancelled job leaves the menu.
	fail := testJob(alpha, "alpha", bits.StateError, 5_000_000, 10_000_000, t0.Add(4*time.Minute))
	fail.Error = &bits.ErrorInfo{Name: "BG_E_HTTP_ERROR_404", Description: "Not found."}
	send(engine.EventError, fail, true)
	send(engine.EventCancelled, testJob(beta, "beta", bits.StateCancelled, 0, -1, t0.Add(5*time.Minute)), false)
	testbus.Eventually(t, "the error state", func() bool { return tooltip(t, conn, ref) == "Ferry — 1 failed" })
	if got := title(t, conn, ref); got != "Ferry — 1 failed" {
		t.Errorf("Title = %q", got)
	}
	errIcon := pixmap(t, conn, ref)
	if slices.Equal(errIcon.Pix, idleIcon.Pix) || slices.Equal(errIcon.Pix, busyIcon.Pix) {
		t.Error("the error icon is not distinct")
	}
	testbus.Eventually(t, "the menu without the cancelled job", func() bool {
		entries = menu(t, conn, ref, menuPath)
		return slices.Equal(menuStrings(entries), []string{"Show Ferry", "Suspend all", "Resume all", "---",
			"alpha — Error 50%", "nightly__build — Suspended 0%", "---", "Quit"})
	})

	// The panel goes away: closing the window must not hide it any more.
	// When a panel comes back, the item registers again by itself.
	w.conn.Close()
	testbus.Eventually(t, "Available to turn false without a watcher", func() bool { return !tray.Available() })
	w2 := startWatcher(t, true)
	again := w2.registration(t)
	if again.bus != ref.bus {
		t.Errorf("re-registered from %s, first from %s", again.bus, ref.bus)
	}
	testbus.Eventually(t, "Available to turn true with a new watcher", tray.Available)

	// Stop takes the item off the bus and runs no action.
	item := fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", os.Getpid())
	tray.Stop()
	tray.Stop()
	if tray.Available() {
		t.Error("a stopped tray is Available")
	}
	testbus.Eventually(t, "the item to leave the bus", func() bool {
		has, err := desktop.NameHasOwner(conn, item)
		return err == nil && !has
	})
	select {
	case c := <-calls:
		t.Errorf("Stop ran action %q", c)
	default:
	}
}

// dbusmenu reads "_" as a mnemonic marker: labels double it.
func TestMenuLabelEscapesMnemonics(t *testing.T) {
	if got := menuLabel("a_b__c"); got != "a__b____c" {
		t.Errorf("menuLabel %q", got)
	}
}

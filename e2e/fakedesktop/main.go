// Command fakedesktop plays a desktop session's panel and notification
// daemon on a private D-Bus session bus, for the end-to-end test of the
// real ferry window: it owns org.kde.StatusNotifierWatcher (with a host, so
// the tray thinks it is seen) and org.freedesktop.Notifications, and reports
// what ferry shows as JSON lines on stdout:
//
//	{"event":"ready"}
//	{"event":"item","service":…,"title":…,"tooltip":…,"menu":["Show Ferry",…]}
//	{"event":"notify","app":…,"summary":…,"body":…,"actions":[…]}
//
// An item is reported again whenever it signals a new title or tooltip.
// Commands on stdin, one a line: "click LABEL" clicks that menu item of the
// last registered item (the test quits ferry through its tray this way).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	watcherName = "org.kde.StatusNotifierWatcher"
	watcherPath = "/StatusNotifierWatcher"
	itemIface   = "org.kde.StatusNotifierItem"
	menuIface   = "com.canonical.dbusmenu"
	notifyName  = "org.freedesktop.Notifications"
	notifyPath  = "/org/freedesktop/Notifications"
	propsIface  = "org.freedesktop.DBus.Properties"
	defaultItem = "/StatusNotifierItem"
)

var (
	outMu sync.Mutex
	enc   = json.NewEncoder(os.Stdout)
)

func report(v map[string]any) {
	outMu.Lock()
	defer outMu.Unlock()
	_ = enc.Encode(v)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fakedesktop: "+format+"\n", args...)
	os.Exit(1)
}

type watcher struct {
	conn  *dbus.Conn
	mu    sync.Mutex
	items []string // "busname/path"
	last  struct{ dest, path string }
}

func (w *watcher) RegisterStatusNotifierItem(service string, sender dbus.Sender) *dbus.Error {
	dest, path := string(sender), service
	if !strings.HasPrefix(service, "/") {
		dest, path = service, defaultItem
	}
	w.mu.Lock()
	w.items = append(w.items, dest+path)
	w.last.dest, w.last.path = dest, path
	w.mu.Unlock()
	go w.follow(dest, dbus.ObjectPath(path))
	return nil
}

func (w *watcher) RegisterStatusNotifierHost(string) *dbus.Error { return nil }

// Get and GetAll answer org.freedesktop.DBus.Properties for the watcher.
func (w *watcher) props() map[string]dbus.Variant {
	w.mu.Lock()
	defer w.mu.Unlock()
	return map[string]dbus.Variant{
		"RegisteredStatusNotifierItems":  dbus.MakeVariant(append([]string{}, w.items...)),
		"IsStatusNotifierHostRegistered": dbus.MakeVariant(true),
		"ProtocolVersion":                dbus.MakeVariant(int32(0)),
	}
}

type watcherProps struct{ w *watcher }

func (p watcherProps) Get(iface, name string) (dbus.Variant, *dbus.Error) {
	v, ok := p.w.props()[name]
	if !ok {
		return dbus.Variant{}, dbus.MakeFailedError(fmt.Errorf("no property %s", name))
	}
	return v, nil
}

func (p watcherProps) GetAll(string) (map[string]dbus.Variant, *dbus.Error) { return p.w.props(), nil }

func (p watcherProps) Set(string, string, dbus.Variant) *dbus.Error {
	return dbus.MakeFailedError(fmt.Errorf("read-only"))
}

// follow reports the item now and after every change of its title or tooltip.
func (w *watcher) follow(dest string, path dbus.ObjectPath) {
	_ = w.conn.AddMatchSignal(dbus.WithMatchSender(dest), dbus.WithMatchObjectPath(path), dbus.WithMatchInterface(itemIface))
	w.describe(dest, path)
}

func (w *watcher) describe(dest string, path dbus.ObjectPath) {
	obj := w.conn.Object(dest, path)
	get := func(name string) (dbus.Variant, error) {
		var v dbus.Variant
		err := obj.Call(propsIface+".Get", 0, itemIface, name).Store(&v)
		return v, err
	}
	ev := map[string]any{"event": "item", "service": dest, "path": string(path)}
	if v, err := get("Title"); err == nil {
		ev["title"] = v.Value()
	}
	if v, err := get("ToolTip"); err == nil {
		// (icon name, icon pixmaps, title, description)
		if s, ok := v.Value().([]any); ok && len(s) == 4 {
			ev["tooltip"] = s[2]
			ev["tooltipBody"] = s[3]
		}
	}
	if v, err := get("Menu"); err == nil {
		if mp, ok := v.Value().(dbus.ObjectPath); ok {
			ev["menu"] = menuLabels(w.conn, dest, mp)
		}
	}
	report(ev)
}

// menuLabels reads the dbusmenu's top-level labels (visible items only).
func menuLabels(conn *dbus.Conn, dest string, path dbus.ObjectPath) []string {
	layout, err := getLayout(conn, dest, path)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for _, c := range layout {
		if c.visible {
			out = append(out, c.label)
		}
	}
	return out
}

type menuItem struct {
	id      int32
	label   string
	visible bool
}

func getLayout(conn *dbus.Conn, dest string, path dbus.ObjectPath) ([]menuItem, error) {
	var rev uint32
	var root struct {
		ID       int32
		Props    map[string]dbus.Variant
		Children []dbus.Variant
	}
	call := conn.Object(dest, path).Call(menuIface+".GetLayout", 0, int32(0), int32(-1), []string{})
	if err := call.Store(&rev, &root); err != nil {
		return nil, err
	}
	var out []menuItem
	for _, cv := range root.Children {
		c, ok := cv.Value().([]any)
		if !ok || len(c) < 2 {
			continue
		}
		id, _ := c[0].(int32)
		props, _ := c[1].(map[string]dbus.Variant)
		it := menuItem{id: id, visible: true}
		if l, ok := props["label"]; ok {
			it.label, _ = l.Value().(string)
		}
		if v, ok := props["visible"]; ok {
			it.visible, _ = v.Value().(bool)
		}
		if t, ok := props["type"]; ok && t.Value() == "separator" {
			continue
		}
		out = append(out, it)
	}
	return out, nil
}

func (w *watcher) click(label string) error {
	w.mu.Lock()
	dest, path := w.last.dest, w.last.path
	w.mu.Unlock()
	if dest == "" {
		return fmt.Errorf("no item registered")
	}
	var mp dbus.Variant
	if err := w.conn.Object(dest, dbus.ObjectPath(path)).Call(propsIface+".Get", 0, itemIface, "Menu").Store(&mp); err != nil {
		return err
	}
	menu, _ := mp.Value().(dbus.ObjectPath)
	items, err := getLayout(w.conn, dest, menu)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.label == label {
			return w.conn.Object(dest, menu).Call(menuIface+".Event", 0, it.id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())).Err
		}
	}
	return fmt.Errorf("no menu item %q", label)
}

type notifications struct {
	mu   sync.Mutex
	next uint32
}

func (n *notifications) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"body", "actions", "body-markup"}, nil
}

func (n *notifications) Notify(app string, replaces uint32, icon, summary, body string, actions []string,
	hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	n.mu.Lock()
	n.next++
	id := n.next
	n.mu.Unlock()
	cat := ""
	if v, ok := hints["category"]; ok {
		cat, _ = v.Value().(string)
	}
	report(map[string]any{"event": "notify", "id": id, "app": app, "summary": summary, "body": body, "actions": actions, "category": cat})
	return id, nil
}

func (n *notifications) CloseNotification(uint32) *dbus.Error { return nil }

func (n *notifications) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "fakedesktop", "ferry-e2e", "1", "1.2", nil
}

func main() {
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		fail("connect: %v", err)
	}
	if err := conn.Auth(nil); err != nil {
		fail("auth: %v", err)
	}
	if err := conn.Hello(); err != nil {
		fail("hello: %v", err)
	}
	w := &watcher{conn: conn}
	must(conn.Export(w, watcherPath, watcherName))
	must(conn.Export(watcherProps{w}, watcherPath, propsIface))
	must(conn.Export(&notifications{}, notifyPath, notifyName))
	for _, name := range []string{watcherName, notifyName} {
		reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
		if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
			fail("own %s: %v %v", name, reply, err)
		}
	}
	sigs := make(chan *dbus.Signal, 64)
	conn.Signal(sigs)
	go func() {
		for s := range sigs {
			if strings.HasPrefix(s.Name, itemIface+".New") {
				w.describe(s.Sender, s.Path)
			}
		}
	}()
	report(map[string]any{"event": "ready"})
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if label, ok := strings.CutPrefix(sc.Text(), "click "); ok {
			if err := w.click(label); err != nil {
				report(map[string]any{"event": "error", "error": err.Error()})
			} else {
				report(map[string]any{"event": "clicked", "label": label})
			}
		}
	}
}

func must(err error) {
	if err != nil {
		fail("%v", err)
	}
}

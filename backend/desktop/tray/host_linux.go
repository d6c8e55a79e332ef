package tray

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"ferry/backend/desktop"

	"github.com/godbus/dbus/v5"
)

const (
	watcherName = "org.kde.StatusNotifierWatcher"
	watcherPath = "/StatusNotifierWatcher"
	itemPath    = "/StatusNotifierItem" // fyne.io/systray's object path
)

// registerTries bounds the registrations with a watcher that has just
// appeared: a panel may take its name a moment before it exports the
// watcher object, and calls in between fail.
const registerTries = 10

// host is the Linux side of the tray: the StatusNotifierWatcher on the
// session bus, which panels (hosts) own. The item registers with it when
// the tray starts, again whenever a watcher appears (a panel that starts
// after Ferry, or restarts), and the tray counts as shown only while a
// watcher with a host is there.
type host struct {
	conn *dbus.Conn // our own connection, to follow the watcher
	sigs chan *dbus.Signal
}

// openHost connects to the session bus and follows the watcher from before
// the item exists, so that a panel coming or going in between is not
// missed. It fails only without a session bus: a session without a panel
// yet may get one.
func openHost() (*host, error) {
	conn, err := desktop.SessionBus()
	if err != nil {
		return nil, err
	}
	rules := [][]dbus.MatchOption{
		{
			dbus.WithMatchSender("org.freedesktop.DBus"),
			dbus.WithMatchInterface("org.freedesktop.DBus"),
			dbus.WithMatchMember("NameOwnerChanged"),
			dbus.WithMatchArg(0, watcherName),
		},
		{dbus.WithMatchSender(watcherName), dbus.WithMatchInterface(watcherName), dbus.WithMatchMember("StatusNotifierHostRegistered")},
		{dbus.WithMatchSender(watcherName), dbus.WithMatchInterface(watcherName), dbus.WithMatchMember("StatusNotifierHostUnregistered")},
	}
	for _, r := range rules {
		if err := conn.AddMatchSignal(r...); err != nil {
			conn.Close()
			return nil, fmt.Errorf("following %s: %w", watcherName, err)
		}
	}
	h := &host{conn: conn, sigs: make(chan *dbus.Signal, 16)}
	conn.Signal(h.sigs)
	return h, nil
}

// menuLabel escapes "_", which dbusmenu (the tray menu here) reads as a
// mnemonic marker: "nightly_build" would otherwise show as "nightlybuild".
func menuLabel(s string) string { return strings.ReplaceAll(s, "_", "__") }

// start runs systray's start: on Linux it only exports D-Bus objects, from
// any goroutine.
func (h *host) start(start func()) { start() }

// afterStart does nothing here: systray keeps what was set before start
// and exports it.
func (h *host) afterStart(func()) {}

// exported checks the item's bus name: systray only logs a failure to
// export its item, and takes that name after exporting the item and menu.
func (h *host) exported() error {
	item := fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", os.Getpid())
	if has, err := desktop.NameHasOwner(h.conn, item); err != nil || !has {
		return fmt.Errorf("the status notifier item %s was not exported (see the systray log line)", item)
	}
	return nil
}

// shown reports whether a watcher with a host is there now.
func (h *host) shown() bool { return checkTrayHost(h.conn) == nil }

func (h *host) close() { h.conn.Close() }

// checkTrayHost makes sure a StatusNotifierWatcher runs, and that it has a
// host (a panel that draws items) behind it. A watcher that cannot answer
// the property is given the benefit of the doubt: the name is what the
// item needs to register.
func checkTrayHost(conn *dbus.Conn) error {
	has, err := desktop.NameHasOwner(conn, watcherName)
	if err != nil {
		return fmt.Errorf("%w: %v", desktop.ErrNoTrayHost, err)
	}
	if !has {
		return desktop.ErrNoTrayHost
	}
	ctx, cancel := context.WithTimeout(context.Background(), desktop.CallTimeout)
	defer cancel()
	var v dbus.Variant
	err = conn.Object(watcherName, watcherPath).CallWithContext(ctx,
		"org.freedesktop.DBus.Properties.Get", 0, watcherName, "IsStatusNotifierHostRegistered").Store(&v)
	if err == nil {
		if hosted, ok := v.Value().(bool); ok && !hosted {
			return fmt.Errorf("%w: the watcher has no host registered", desktop.ErrNoTrayHost)
		}
	}
	return nil
}

// follow reports through set whether a panel shows the item, until stop
// is closed. When a watcher appears it registers the item with it: systray
// tries that once too, but a watcher whose name is up before its object
// refuses that one call, and the icon would never show.
func (h *host) follow(stop <-chan struct{}, set func(bool)) {
	for {
		select {
		case <-stop:
			return
		case sig, ok := <-h.sigs:
			if !ok || sig == nil {
				return
			}
			switch sig.Name {
			case "org.freedesktop.DBus.NameOwnerChanged":
				if len(sig.Body) != 3 {
					continue
				}
				if name, _ := sig.Body[0].(string); name != watcherName {
					continue
				}
				if owner, _ := sig.Body[2].(string); owner == "" {
					set(false)
					continue
				}
				if err := h.register(stop); err != nil {
					slog.Warn("tray: a StatusNotifierWatcher appeared, but the icon could not register with it", "err", err)
					continue
				}
				set(h.shown())
			case watcherName + ".StatusNotifierHostRegistered", watcherName + ".StatusNotifierHostUnregistered":
				set(h.shown())
			}
		}
	}
}

// register registers systray's item with the watcher, from systray's own
// connection (godbus' shared session connection), so that the watcher
// keys it as systray's own registration and counts it once.
func (h *host) register(stop <-chan struct{}) error {
	conn, err := dbus.SessionBus()
	if err != nil {
		return err
	}
	delay := 100 * time.Millisecond
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), desktop.CallTimeout)
		err = conn.Object(watcherName, watcherPath).CallWithContext(ctx,
			watcherName+".RegisterStatusNotifierItem", 0, itemPath).Err
		cancel()
		if err == nil || try == registerTries {
			return err
		}
		select {
		case <-stop:
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

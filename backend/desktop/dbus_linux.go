package desktop

import (
	"context"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

// CallTimeout bounds every D-Bus call this package makes itself: a hung
// panel or notification daemon must never stall the engine's event
// consumers or the app's startup.
const CallTimeout = 5 * time.Second

// SessionBus opens a private connection to the session bus.
//
// Private, because fyne.io/systray closes godbus' shared connection when
// the tray stops, which would cut anything else that used it. And without
// autostart, because when DBUS_SESSION_BUS_ADDRESS is unset godbus would
// otherwise run dbus-launch and start a fresh, empty bus on which no panel
// or notification daemon will ever listen.
func SessionBus() (*dbus.Conn, error) {
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSessionBus, err)
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: authenticating: %v", ErrNoSessionBus, err)
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: %v", ErrNoSessionBus, err)
	}
	return conn, nil
}

// NameHasOwner asks the bus whether a well-known name is taken.
func NameHasOwner(conn *dbus.Conn, name string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	var has bool
	err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has)
	return has, err
}

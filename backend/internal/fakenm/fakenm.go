//go:build linux

// Package fakenm is a NetworkManager stand-in for tests: on the test's
// private system bus (testbus.PrivateSystem) it owns
// org.freedesktop.NetworkManager and serves the Manager object's Metered
// property, and SetMetered changes it with a PropertiesChanged signal, as
// NetworkManager does when the primary connection changes.
package fakenm

import (
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"

	"ferry/backend/internal/testbus"
)

// NMMetered values.
const (
	MeteredUnknown  uint32 = 0
	MeteredYes      uint32 = 1
	MeteredNo       uint32 = 2
	MeteredGuessYes uint32 = 3
	MeteredGuessNo  uint32 = 4
)

const (
	name = "org.freedesktop.NetworkManager"
	path = dbus.ObjectPath("/org/freedesktop/NetworkManager")
)

// NM is a running stand-in.
type NM struct {
	conn  *dbus.Conn
	props *prop.Properties
}

// Start serves Metered = metered on the private system bus the test set up.
func Start(t *testing.T, metered uint32) *NM {
	t.Helper()
	conn := testbus.SystemConn(t)
	props, err := prop.Export(conn, path, prop.Map{name: {
		"Metered": {Value: metered, Emit: prop.EmitTrue},
		"State":   {Value: uint32(70), Emit: prop.EmitTrue}, // NM_STATE_CONNECTED_GLOBAL
	}})
	if err != nil {
		t.Fatal(err)
	}
	testbus.Own(t, conn, name)
	return &NM{conn: conn, props: props}
}

// SetMetered changes Metered and emits PropertiesChanged.
func (n *NM) SetMetered(v uint32) { n.props.SetMust(name, "Metered", v) }

// Stop leaves the bus, as NetworkManager stopping does.
func (n *NM) Stop() { n.conn.Close() }

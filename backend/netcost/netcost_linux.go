package netcost

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"ferry/backend/bits"
)

// NetworkManager's D-Bus names, and its NMMetered values.
const (
	nmName      = "org.freedesktop.NetworkManager"
	nmPath      = dbus.ObjectPath("/org/freedesktop/NetworkManager")
	propsIface  = "org.freedesktop.DBus.Properties"
	callTimeout = 5 * time.Second

	nmMeteredUnknown  = 0
	nmMeteredYes      = 1
	nmMeteredNo       = 2
	nmMeteredGuessYes = 3
	nmMeteredGuessNo  = 4
)

// costOfMetered maps NetworkManager's Metered (of the primary connection)
// to BITS' cost: metered is USAGE_BASED, as Windows reports a metered
// connection of unknown plan; anything else is unrestricted. NetworkManager
// says nothing of roaming or data caps.
func costOfMetered(v uint32) bits.CostState {
	switch v {
	case nmMeteredYes, nmMeteredGuessYes:
		return bits.CostUsageBased
	}
	return bits.CostUnrestricted
}

func meteredText(v uint32) string {
	switch v {
	case nmMeteredUnknown:
		return "unknown"
	case nmMeteredYes:
		return "yes"
	case nmMeteredNo:
		return "no"
	case nmMeteredGuessYes:
		return "guess-yes"
	case nmMeteredGuessNo:
		return "guess-no"
	}
	return fmt.Sprint(v)
}

// watch follows NetworkManager's Metered on the system bus
// (DBUS_SYSTEM_BUS_ADDRESS when set): PropertiesChanged signals while it
// runs, NameOwnerChanged when it starts or stops. systemd-networkd has no
// notion of a metered link, so on a machine without NetworkManager the
// cost is unknown, that is unrestricted.
func (m *Monitor) watch() func() {
	ctx, cancel := context.WithCancel(context.Background())
	done, first := make(chan struct{}), make(chan struct{})
	w := &nmWatch{first: first}
	go func() {
		defer close(done)
		defer w.read() // no reading at all still ends the wait below
		if err := m.watchNM(ctx, w); err != nil && ctx.Err() == nil {
			m.log.Info("network cost unknown, treated as unrestricted", "err", err)
			m.set(bits.CostUnrestricted, "none")
		}
	}()
	// The engine plans with the cost from its first pass on: wait for the
	// first reading, a moment at most (a bus that does not answer must not
	// hold the engine's start).
	select {
	case <-first:
	case <-time.After(firstReadWait):
	}
	return func() {
		cancel()
		w.close() // unblocks a connect or authentication that hangs
		<-done
	}
}

// firstReadWait bounds how long Start waits for the first reading.
const firstReadWait = time.Second

// nmWatch is the watcher's connection, which stop closes, and the signal
// of its first reading.
type nmWatch struct {
	mu      sync.Mutex
	conn    *dbus.Conn
	stopped bool
	first   chan struct{}
	once    sync.Once
}

func (w *nmWatch) read() { w.once.Do(func() { close(w.first) }) }

// use records the connection; false when the monitor already stopped.
func (w *nmWatch) use(c *dbus.Conn) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return false
	}
	w.conn = c
	return true
}

func (w *nmWatch) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.conn != nil {
		w.conn.Close()
	}
}

func (m *Monitor) watchNM(ctx context.Context, w *nmWatch) error {
	conn, err := dbus.SystemBusPrivate()
	if err != nil {
		return fmt.Errorf("system bus: %w", err)
	}
	defer conn.Close()
	if !w.use(conn) {
		return nil
	}
	if err := conn.Auth(nil); err != nil {
		return fmt.Errorf("system bus: %w", err)
	}
	if err := conn.Hello(); err != nil {
		return fmt.Errorf("system bus: %w", err)
	}
	sigs := make(chan *dbus.Signal, 16)
	conn.Signal(sigs)
	// Matching the sender by its well-known name makes the bus deliver
	// only the owner's signals: another client cannot fake a cost.
	if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchSender(nmName), dbus.WithMatchObjectPath(nmPath),
		dbus.WithMatchInterface(propsIface), dbus.WithMatchMember("PropertiesChanged"), dbus.WithMatchArg(0, nmName)); err != nil {
		return fmt.Errorf("watch NetworkManager: %w", err)
	}
	if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchInterface("org.freedesktop.DBus"),
		dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, nmName)); err != nil {
		return fmt.Errorf("watch NetworkManager: %w", err)
	}
	// Read after subscribing, so that no change falls in between.
	m.readNM(ctx, conn)
	w.read()
	for {
		select {
		case <-ctx.Done():
			return nil
		case s, ok := <-sigs:
			if !ok {
				return fmt.Errorf("the system bus closed the connection")
			}
			m.signal(ctx, conn, s)
		}
	}
}

func (m *Monitor) signal(ctx context.Context, conn *dbus.Conn, s *dbus.Signal) {
	switch s.Name {
	case "org.freedesktop.DBus.NameOwnerChanged":
		if len(s.Body) == 3 {
			if owner, _ := s.Body[2].(string); owner == "" {
				m.set(bits.CostUnrestricted, "NetworkManager stopped")
				return
			}
		}
		m.readNM(ctx, conn)
	case propsIface + ".PropertiesChanged":
		if len(s.Body) < 3 {
			return
		}
		if changed, ok := s.Body[1].(map[string]dbus.Variant); ok {
			if v, ok := changed["Metered"]; ok {
				if u, ok := v.Value().(uint32); ok {
					m.set(costOfMetered(u), "NetworkManager Metered="+meteredText(u))
				}
				return
			}
		}
		if inval, ok := s.Body[2].([]string); ok {
			for _, p := range inval {
				if p == "Metered" {
					m.readNM(ctx, conn)
				}
			}
		}
	}
}

// readNM reads Metered now; without NetworkManager the cost is unknown.
func (m *Monitor) readNM(ctx context.Context, conn *dbus.Conn) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var v dbus.Variant
	err := conn.Object(nmName, nmPath).CallWithContext(ctx, propsIface+".Get", 0, nmName, "Metered").Store(&v)
	if err != nil {
		m.set(bits.CostUnrestricted, "no NetworkManager")
		return
	}
	u, _ := v.Value().(uint32)
	m.set(costOfMetered(u), "NetworkManager Metered="+meteredText(u))
}

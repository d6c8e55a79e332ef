package netcost

import (
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/fakenm"
	"ferry/backend/internal/testbus"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// waitCost waits for the monitor's cost, counting the change callbacks.
func waitCost(t *testing.T, m *Monitor, want bits.CostState) {
	t.Helper()
	testbus.Eventually(t, "cost "+want.String(), func() bool { return m.State() == want })
}

func TestNetworkManagerMetered(t *testing.T) {
	testbus.PrivateSystem(t)
	nm := fakenm.Start(t, fakenm.MeteredYes)
	var changes atomic.Int32
	m := Start(quiet(), func() { changes.Add(1) })
	defer m.Close()
	// Start returns with the first reading: the engine's first pass
	// already plans with it.
	if c := m.State(); c != bits.CostUsageBased {
		t.Fatalf("cost right after Start: %s", c)
	}
	testbus.Eventually(t, "the first change's callback", func() bool { return changes.Load() == 1 })
	before := changes.Load()
	nm.SetMetered(fakenm.MeteredGuessNo)
	waitCost(t, m, bits.CostUnrestricted)
	nm.SetMetered(fakenm.MeteredGuessYes)
	waitCost(t, m, bits.CostUsageBased)
	testbus.Eventually(t, "two change callbacks", func() bool { return changes.Load()-before == 2 })
	// NetworkManager going away: the cost is unknown again.
	nm.Stop()
	waitCost(t, m, bits.CostUnrestricted)
	// ...and coming back metered is read at once, without a signal.
	fakenm.Start(t, fakenm.MeteredYes)
	waitCost(t, m, bits.CostUsageBased)
}

// TestNoFakeCost: only NetworkManager's own signals count; a client that
// emits a PropertiesChanged for its path changes nothing.
func TestNoFakeCost(t *testing.T) {
	testbus.PrivateSystem(t)
	fakenm.Start(t, fakenm.MeteredNo)
	m := Start(quiet(), nil)
	defer m.Close()
	time.Sleep(200 * time.Millisecond) // the first read
	other := testbus.SystemConn(t)
	err := other.Emit("/org/freedesktop/NetworkManager", "org.freedesktop.DBus.Properties.PropertiesChanged",
		"org.freedesktop.NetworkManager", map[string]any{"Metered": uint32(1)}, []string{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if c := m.State(); c != bits.CostUnrestricted {
		t.Fatalf("a stranger's signal set the cost to %s", c)
	}
}

func TestNoSystemBus(t *testing.T) {
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+t.TempDir()+"/none")
	m := Start(quiet(), nil)
	defer m.Close()
	if c := m.State(); c != bits.CostUnrestricted {
		t.Fatalf("cost %s without a bus", c)
	}
}

// TestSilentBus: a system bus that accepts and never answers holds neither
// the start (a second at most) nor the stop.
func TestSilentBus(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bus")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never a byte
		}
	}()
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+path)
	start := time.Now()
	m := Start(quiet(), nil)
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("Start took %v", el)
	}
	if c := m.State(); c != bits.CostUnrestricted {
		t.Fatalf("cost %s", c)
	}
	done := make(chan struct{})
	go func() { m.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung on a silent bus")
	}
}

package netcost

import (
	"io"
	"log/slog"
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
	waitCost(t, m, bits.CostUsageBased)
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

package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/backend/internal/fakenm"
	"ferry/backend/internal/testbus"
	"ferry/backend/internal/testenv"
)

// TestCostPolicyFollowsNetworkManager: the engine reads Metered from a
// NetworkManager stand-in on a private system bus; a job whose COST_FLAGS
// do not allow a metered network waits in TRANSIENT_ERROR and goes on by
// itself when the stand-in flips Metered, while a default job
// (TRANSFER_NOT_ROAMING) transfers on the metered network.
func TestCostPolicyFollowsNetworkManager(t *testing.T) {
	testbus.PrivateSystem(t) // the engine ferry starts inherits it
	nm := fakenm.Start(t, fakenm.MeteredYes)
	e := newEnv(t)
	base := testenv.Nginx(t, docroot(t, map[string][]byte{"a.bin": randomBytes(t, 200000), "b.bin": randomBytes(t, 1000)}))

	strict := strings.TrimSpace(e.ok("create", "strict"))
	e.ok("addfile", strict, base+"/a.bin", filepath.Join(e.dir, "a.bin"))
	e.ok("setproperty", strict, "COST_FLAGS", "TRANSFER_UNRESTRICTED")
	e.ok("resume", strict)
	waitBlocked := func(id string) {
		t.Helper()
		waitFor(t, 20e9, "the job blocked by its cost policy", func() bool {
			var in struct {
				State string
				Error *struct{ Name, Description string }
			}
			if err := json.Unmarshal([]byte(e.ok("info", id, "--json")), &in); err != nil {
				t.Fatal(err)
			}
			return in.State == "TRANSIENT_ERROR" && in.Error != nil && in.Error.Name == "BG_E_BLOCKED_BY_COST_TRANSFER_POLICY"
		})
	}
	waitBlocked(strict)
	if got := e.ok("geterror", strict); !strings.Contains(got, "BG_E_BLOCKED_BY_COST_TRANSFER_POLICY") {
		t.Fatalf("geterror: %s", got)
	}
	// The default policy allows a metered network.
	easy := strings.TrimSpace(e.ok("create", "easy"))
	e.ok("addfile", easy, base+"/b.bin", filepath.Join(e.dir, "b.bin"))
	e.ok("resume", easy)
	if got := e.ok("wait", easy, "--timeout", "20"); got != "TRANSFERRED\n" {
		t.Fatalf("default job on a metered network: %q", got)
	}
	if got := e.ok("getstate", strict); got != "TRANSIENT_ERROR\n" {
		t.Fatalf("strict job while metered: %q", got)
	}
	// Unmetered: the strict job goes on by itself.
	nm.SetMetered(fakenm.MeteredNo)
	if got := e.ok("wait", strict, "--timeout", "20"); got != "TRANSFERRED\n" {
		t.Fatalf("strict job after the network became unmetered: %q", got)
	}
	// Metered again (a guess counts): a new strict job waits, then goes on.
	nm.SetMetered(fakenm.MeteredGuessYes)
	again := strings.TrimSpace(e.ok("create", "again"))
	e.ok("addfile", again, base+"/b.bin", filepath.Join(e.dir, "c.bin"))
	e.ok("setproperty", again, "COST_FLAGS", "0x80000021")
	// The engine logs each cost it reads: wait for this one before the
	// resume, or the small file could arrive before the engine knew.
	waitFor(t, 20e9, "the engine to see the metered network again", func() bool {
		log, _ := os.ReadFile(filepath.Join(e.home, "ferry.log"))
		return strings.Count(string(log), `cost=USAGE_BASED source="NetworkManager Metered=guess-yes"`) == 1
	})
	e.ok("resume", again)
	waitBlocked(again)
	nm.SetMetered(fakenm.MeteredGuessNo)
	if got := e.ok("wait", again, "--timeout", "20"); got != "TRANSFERRED\n" {
		t.Fatalf("second strict job after unmetered: %q", got)
	}
}

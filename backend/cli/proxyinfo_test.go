//go:build unix

package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"ferry/backend/internal/testenv"
)

// TestProxyListCheckedAtRunTime: as BITS, setproxysettings accepts a bad
// OVERRIDE list and the job fails when it runs, with BG_E_INVALID_PROXY_INFO
// printed once; a list with another usage is E_INVALIDARG at once.
func TestProxyListCheckedAtRunTime(t *testing.T) {
	e := newEnv(t)
	base := testenv.Nginx(t, docroot(t, map[string][]byte{"a.bin": randomBytes(t, 1000)}))
	id := strings.TrimSpace(e.ok("create", "p"))
	e.ok("addfile", id, base+"/a.bin", filepath.Join(e.dir, "a.bin"))
	for _, usage := range []string{"preconfig", "no_proxy", "autodetect"} {
		r := e.fails("E_INVALIDARG", "setproxysettings", id, usage, "proxy.example:3128")
		if strings.Count(r.stderr, "0x80070057") != 1 {
			t.Fatalf("%s", r)
		}
	}
	e.ok("setproxysettings", id, "override", "bad proxy:99999", "<local>")
	if got := e.ok("getproxylist", id); got != "bad proxy:99999\n" {
		t.Fatalf("getproxylist %q", got)
	}
	e.ok("resume", id)
	r := e.fails("BG_E_INVALID_PROXY_INFO", "wait", id, "--timeout", "20")
	if r.stdout != "ERROR\n" {
		t.Fatalf("%s", r)
	}
	for _, out := range []string{e.ok("geterror", id), r.stderr} {
		if strings.Count(out, "0x8020003F") > 1 {
			t.Fatalf("the code twice: %s", out)
		}
	}
	// Fixed, the job goes on.
	e.ok("setproxysettings", id, "no_proxy")
	e.ok("resume", id)
	if got := e.ok("wait", id, "--timeout", "20"); got != "TRANSFERRED\n" {
		t.Fatalf("after a good proxy setting: %q", got)
	}
}

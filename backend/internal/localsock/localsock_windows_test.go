//go:build windows

package localsock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// The pipe's DACL is protected and names the current user alone, and a
// client learns the server's pid. (That a second listener on the name is
// refused is Windows' FILE_CREATE, which Wine 8 does not enforce for pipes:
// not checked here.)
func TestPipeIsTheUsersAlone(t *testing.T) {
	addr := Addr(filepath.Join(t.TempDir(), "p.sock"), "ferry-test")
	if !strings.HasPrefix(addr, `\\.\pipe\ferry-test-`) {
		t.Fatalf("Addr = %q", addr)
	}
	c, checked := connected(t, addr)

	h, err := pipeHandle(c)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := windows.GetSecurityInfo(h, windows.SE_KERNEL_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	me, err := currentSID()
	if err != nil {
		t.Fatal(err)
	}
	dacl := sd.String()
	// GA (generic all) reads back as the pipe's specific rights: one allow
	// entry, for our SID, and no inherited ones.
	if !strings.HasPrefix(dacl, "D:P(A;;") || strings.Count(dacl, "(") != 1 || !strings.HasSuffix(dacl, ";;;"+me.String()+")") {
		t.Errorf("the pipe's DACL is %s; want one protected allow entry for %s", dacl, me)
	}
	pid, err := ServerPID(c)
	if err != nil || int(pid) != os.Getpid() {
		t.Errorf("ServerPID = %d, %v; want %d", pid, err, os.Getpid())
	}
	c.Write([]byte{1})
	if err := <-checked; err != nil {
		t.Errorf("CheckPeer: %v", err)
	}
}

// Windows paths are case-insensitive: one FERRY_HOME, one pipe.
func TestAddrIgnoresCase(t *testing.T) {
	if a, b := Addr(`C:\Ferry\ferry.sock`, "ferry"), Addr(`c:\ferry\FERRY.SOCK`, "ferry"); a != b {
		t.Errorf("%s and %s", a, b)
	}
}

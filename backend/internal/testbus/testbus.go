// Package testbus gives tests a D-Bus of their own: a private dbus-daemon
// that activates nothing, as the session bus (the desktop packages) or as
// the system bus (the network-cost monitor), connections to it, and a way to
// run a test in a process of its own.
package testbus

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// busConfig is a bus (session or system) that lets the test own any name and that
// activates no services: a real notification daemon or panel installed on
// the machine must never answer in place of the test's fakes.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>%s</type>
  <listen>unix:dir=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// Private starts a dbus-daemon of the test's own, points
// DBUS_SESSION_BUS_ADDRESS at it for the test, and stops it afterwards.
func Private(t *testing.T) string {
	t.Helper()
	addr := start(t, "session")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	return addr
}

// PrivateSystem is Private for the system bus: DBUS_SYSTEM_BUS_ADDRESS
// points at a dbus-daemon of the test's own (the machine's system bus and
// its NetworkManager are never asked), for the test and the processes it
// starts.
func PrivateSystem(t *testing.T) string {
	t.Helper()
	addr := start(t, "system")
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)
	return addr
}

func start(t *testing.T, kind string) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Fatal("dbus-daemon not found: run make deps (Debian packages dbus, dbus-x11)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, kind, dir), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	var stderr bytes.Buffer // shown only when the test fails
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("dbus-daemon said:\n%s", stderr.String())
		}
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- strings.TrimSpace(line)
	}()
	var addr string
	select {
	case addr = <-lines:
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon printed no address")
	}
	if addr == "" {
		t.Fatal("dbus-daemon exited without an address")
	}
	return addr
}

// NoBus makes the session bus unreachable for the test.
func NoBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir()) // no runtime-dir bus to discover
	t.Setenv("DISPLAY", "")                  // nothing dbus-launch could autolaunch on
}

// Conn is a connection of the test's own to the private bus.
func Conn(t *testing.T) *dbus.Conn {
	t.Helper()
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Auth(nil); err != nil {
		t.Fatal(err)
	}
	if err := conn.Hello(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// SystemConn is Conn on the private system bus (PrivateSystem).
func SystemConn(t *testing.T) *dbus.Conn {
	t.Helper()
	conn, err := dbus.SystemBusPrivate()
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Auth(nil); err != nil {
		t.Fatal(err)
	}
	if err := conn.Hello(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Own takes a well-known name for conn, failing the test if it cannot.
func Own(t *testing.T, conn *dbus.Conn, name string) {
	t.Helper()
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning %s: reply %v, %v", name, reply, err)
	}
}

// Eventually polls cond until it holds or the deadline passes.
func Eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// InOwnProcess runs the calling test again in a child process of the test
// binary and reports its result, for tests of process-wide state (the one
// fyne.io/systray tray a process may start): -count=N and other tests
// then never see that state used up. It returns true in the child, where
// the test body runs.
func InOwnProcess(t *testing.T) bool {
	t.Helper()
	const env = "FERRY_DESKTOP_TEST_CHILD"
	if os.Getenv(env) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), env+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in its own process: %v\n%s", t.Name(), err, out)
	}
	if testing.Verbose() {
		t.Logf("%s in its own process:\n%s", t.Name(), out)
	}
	return false
}

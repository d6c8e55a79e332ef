package netwatch

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// newNetns makes a network namespace of the test's own, removed at its end.
func newNetns(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: network namespaces need root (CI runs as root)")
	}
	ns := fmt.Sprintf("ferry-nl-w%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	return ns
}

// watchIn opens a Watcher inside ns (the socket keeps the namespace it was
// made in; the thread goes back to its own).
func watchIn(t *testing.T, ns string) Watcher {
	t.Helper()
	type res struct {
		w   Watcher
		err error
	}
	ch := make(chan res)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		target, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			ch <- res{err: err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- res{err: err}
			return
		}
		w, err := New()
		ch <- res{w, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { r.w.Close() })
	return r.w
}

func ip(t *testing.T, ns string, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// A link and an address coming up in the watched namespace are one burst:
// one signal, after the burst settles; nothing before the change.
func TestChangesInNamespace(t *testing.T) {
	ns := newNetns(t)
	w := watchIn(t, ns)
	select {
	case <-w.Changes():
		t.Fatal("a change reported before anything changed")
	case <-time.After(2 * Settle):
	}
	ip(t, ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1")
	ip(t, ns, "addr", "add", "10.78.0.1/24", "dev", "d0")
	ip(t, ns, "link", "set", "d1", "up")
	ip(t, ns, "link", "set", "d0", "up")
	select {
	case <-w.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported for a link that came up")
	}
	select {
	case <-w.Changes():
		t.Fatal("one burst reported twice")
	case <-time.After(2 * Settle):
	}
	ip(t, ns, "link", "set", "d0", "down")
	select {
	case <-w.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported for a link that went down")
	}
}

// Close ends the watcher's reads; the channel stays open (never closed).
func TestCloseStops(t *testing.T) {
	w, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal("a second Close:", err)
	}
}

//go:build unix

package desktop

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestClaimInstance(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home") // created by the claim
	shown := make(chan struct{}, 4)
	release, already, err := ClaimInstance(home, func() { shown <- struct{}{} })
	if err != nil || already {
		t.Fatalf("first claim: already=%v err=%v", already, err)
	}
	st, err := os.Lstat(filepath.Join(home, instanceSocket))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Type() != fs.ModeSocket || st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a 0600 socket", st.Mode())
	}

	// A second start finds the first, which shows its window.
	rel2, already, err := ClaimInstance(home, func() { t.Error("the second instance's onShow ran") })
	if err != nil || !already || rel2 != nil {
		t.Fatalf("second claim: already=%v release=%v err=%v", already, rel2 != nil, err)
	}
	select {
	case <-shown:
	default: // the reply comes after onShow, so it has run by now
		t.Fatal("the first instance's onShow did not run")
	}

	// Released, the next start becomes the instance itself.
	release()
	release()
	if _, err := os.Lstat(filepath.Join(home, instanceSocket)); !os.IsNotExist(err) {
		t.Errorf("socket left after release: %v", err)
	}
	release3, already, err := ClaimInstance(home, nil)
	if err != nil || already {
		t.Fatalf("claim after release: already=%v err=%v", already, err)
	}
	release3()
}

// A crashed instance leaves its socket file, but not its lock.
func TestClaimInstanceReplacesAStaleSocket(t *testing.T) {
	home := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(home, instanceSocket))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	release, already, err := ClaimInstance(home, nil)
	if err != nil || already {
		t.Fatalf("claim over a stale socket: already=%v err=%v", already, err)
	}
	defer release()
	if _, already, err := ClaimInstance(home, nil); err != nil || !already {
		t.Fatalf("second claim: already=%v err=%v", already, err)
	}
}

// An instance that holds the lock but never answers is reported, not
// waited for forever, and not mistaken for no instance at all.
func TestClaimInstanceUnresponsive(t *testing.T) {
	home := t.TempDir()
	f, err := os.OpenFile(filepath.Join(home, instanceLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { showWait = d }(showWait)
	showWait = 500 * time.Millisecond
	start := time.Now()
	_, already, err := ClaimInstance(home, nil)
	if err == nil || already {
		t.Fatalf("claim against a silent lock holder: already=%v err=%v", already, err)
	}
	if !strings.Contains(err.Error(), "did not answer") {
		t.Errorf("error %q does not say what happened", err)
	}
	if d := time.Since(start); d < showWait || d > showWait+3*time.Second {
		t.Errorf("gave up after %v, want about %v", d, showWait)
	}
}

// Nothing but "show" raises the window.
func TestClaimInstanceIgnoresOtherRequests(t *testing.T) {
	home := t.TempDir()
	release, _, err := ClaimInstance(home, func() { t.Error("onShow ran for a bad request") })
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	c, err := net.Dial("unix", filepath.Join(home, instanceSocket))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("quit\n"))
	buf := make([]byte, 64)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _ := c.Read(buf)
	if got := string(buf[:n]); got != "unknown request\n" {
		t.Errorf("reply %q", got)
	}
}

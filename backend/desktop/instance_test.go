package desktop

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/backend/home"
	"ferry/backend/internal/localsock"
)

func TestClaimInstance(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home") // created by the claim
	shown := make(chan struct{}, 4)
	release, already, err := ClaimInstance(dir, func() { shown <- struct{}{} })
	if err != nil || already {
		t.Fatalf("first claim: already=%v err=%v", already, err)
	}

	// A second start finds the first, which shows its window.
	rel2, already, err := ClaimInstance(dir, func() { t.Error("the second instance's onShow ran") })
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if c, err := localsock.Dial(ctx, instanceAddr(dir)); err == nil {
		c.Close()
		t.Error("the endpoint still answers after release")
	}
	release3, already, err := ClaimInstance(dir, nil)
	if err != nil || already {
		t.Fatalf("claim after release: already=%v err=%v", already, err)
	}
	release3()
}

// An instance that holds the lock but never answers is reported, not
// waited for forever, and not mistaken for no instance at all.
func TestClaimInstanceUnresponsive(t *testing.T) {
	dir := t.TempDir()
	lock, held, err := home.TryLock(filepath.Join(dir, instanceLock))
	if err != nil || held {
		t.Fatalf("taking the lock: held=%v err=%v", held, err)
	}
	defer lock.Release()
	defer func(d time.Duration) { showWait = d }(showWait)
	showWait = 500 * time.Millisecond
	start := time.Now()
	_, already, err := ClaimInstance(dir, nil)
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
	dir := t.TempDir()
	release, _, err := ClaimInstance(dir, func() { t.Error("onShow ran for a bad request") })
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := localsock.Dial(ctx, instanceAddr(dir))
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

// Two FERRY_HOMEs have a window each.
func TestClaimInstancePerHome(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	relA, already, err := ClaimInstance(a, func() { t.Error("home a was asked to show") })
	if err != nil || already {
		t.Fatalf("claim a: already=%v err=%v", already, err)
	}
	defer relA()
	relB, already, err := ClaimInstance(b, nil)
	if err != nil || already {
		t.Fatalf("claim b beside a: already=%v err=%v", already, err)
	}
	relB()
}

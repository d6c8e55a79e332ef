package desktop

import (
	"path/filepath"
	"strings"
	"testing"
)

// A FERRY_HOME deeper than a socket address can hold still works, through
// an abstract socket named after it.
func TestClaimInstanceDeepHome(t *testing.T) {
	home := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	if len(filepath.Join(home, instanceSocket)) <= 107 { // sun_path less its NUL
		t.Fatal("the test's home is not deep enough")
	}
	shown := make(chan struct{}, 1)
	release, already, err := ClaimInstance(home, func() { shown <- struct{}{} })
	if err != nil || already {
		t.Fatalf("first claim: already=%v err=%v", already, err)
	}
	defer release()
	if _, already, err := ClaimInstance(home, nil); err != nil || !already {
		t.Fatalf("second claim: already=%v err=%v", already, err)
	}
	<-shown
}

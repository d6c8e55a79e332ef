package bootid

import "testing"

func TestIDStable(t *testing.T) {
	a := ID()
	if a == "" {
		t.Fatal("no boot id on a supported platform")
	}
	if b := read(); b != a {
		t.Fatalf("two reads in one boot differ: %q, %q", a, b)
	}
}

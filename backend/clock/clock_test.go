package clock

import (
	"testing"
	"time"
)

func TestFakeTimersFireOnlyWhenDue(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	a := f.NewTimer(10 * time.Second)
	b := f.NewTimer(20 * time.Second)
	c := f.NewTimer(30 * time.Second)
	c.Stop()
	f.Advance(9 * time.Second)
	select {
	case <-a.C():
		t.Fatal("fired early")
	default:
	}
	f.Advance(time.Second)
	if got := <-a.C(); !got.Equal(start.Add(10 * time.Second)) {
		t.Fatalf("fired at %v", got)
	}
	f.Advance(time.Hour)
	<-b.C()
	select {
	case <-c.C():
		t.Fatal("a stopped timer fired")
	default:
	}
	if !f.Now().Equal(start.Add(time.Hour + 10*time.Second)) {
		t.Fatalf("now %v", f.Now())
	}
	<-f.NewTimer(0).C() // due at once
}

func TestRealClock(t *testing.T) {
	tm := Real{}.NewTimer(time.Millisecond)
	<-tm.C()
	if (Real{}).Now().IsZero() {
		t.Fatal("zero time")
	}
}

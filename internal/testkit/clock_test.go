package testkit

import (
	"testing"
	"time"
)

func TestClockFiresInOrderOnlyWhenDue(t *testing.T) {
	c := NewClock()
	a, _ := c.NewTimer(2 * time.Second)
	b, _ := c.NewTimer(time.Second)
	s, stop := c.NewTimer(time.Second)
	if !stop() {
		t.Fatal("stop of a pending timer reported false")
	}
	c.Advance(999 * time.Millisecond)
	select {
	case <-b:
		t.Fatal("timer fired before its deadline")
	default:
	}
	c.Advance(time.Millisecond)
	if got := <-b; !got.Equal(Epoch.Add(time.Second)) {
		t.Fatalf("timer saw %v, want its deadline", got)
	}
	c.Advance(5 * time.Second)
	if got := <-a; !got.Equal(Epoch.Add(2 * time.Second)) {
		t.Fatalf("second timer saw %v, want its deadline", got)
	}
	select {
	case <-s:
		t.Fatal("stopped timer fired")
	default:
	}
	if got := c.Now(); !got.Equal(Epoch.Add(6 * time.Second)) {
		t.Fatalf("Now = %v after advancing 6s", got)
	}
}

func TestClockWaitPending(t *testing.T) {
	c := NewClock()
	go func() { c.NewTimer(time.Minute) }()
	if !c.WaitPending(1, 5*time.Second) {
		t.Fatal("WaitPending did not see the armed timer")
	}
	if c.WaitPending(2, 20*time.Millisecond) {
		t.Fatal("WaitPending reported a timer nobody armed")
	}
}

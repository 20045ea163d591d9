// Package testkit holds what beacon's tests and test harnesses share: a
// fake clock that production code accepts wherever it takes a clock, so
// tests move time forward instead of sleeping; one build of the beacon
// binary per test process; the real binary started on ports it picks
// itself, in an environment without the caller's BEACON_* and CONSUL_*
// settings, and stopped; and free loopback ports where port 0 cannot be
// used.
package testkit

import (
	"sort"
	"sync"
	"time"
)

// Epoch is where every fake clock starts: a fixed time keeps outputs
// that print times reproducible.
var Epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Clock is a fake time source. Time stands still until Advance moves it,
// and timers fire only then, in deadline order. Its method set matches
// the Clock interfaces of store and health, which use only built-in
// types so that this one type satisfies them all.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*timer
	changed chan struct{} // closed and replaced whenever timers change
}

type timer struct {
	at    time.Time
	c     chan time.Time
	fired bool
}

// NewClock returns a clock standing at Epoch.
func NewClock() *Clock { return &Clock{now: Epoch, changed: make(chan struct{})} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a channel that receives the clock's time once the
// clock has been advanced by d, and a stop function with time.Timer.Stop's
// meaning. A timer of d <= 0 fires at once.
func (c *Clock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.fired = true
		t.c <- c.now
		return t.c, func() bool { return false }
	}
	c.timers = append(c.timers, t)
	c.signalLocked()
	return t.c, func() bool { return c.stop(t) }
}

func (c *Clock) stop(t *timer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			c.signalLocked()
			return true
		}
	}
	return false
}

// Advance moves the clock forward by d and fires every timer now due, in
// deadline order, each seeing the clock at its own deadline.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end := c.now.Add(d)
	sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
	for len(c.timers) > 0 && !c.timers[0].at.After(end) {
		t := c.timers[0]
		c.timers = c.timers[1:]
		if t.at.After(c.now) {
			c.now = t.at
		}
		t.fired = true
		t.c <- c.now
	}
	c.now = end
	c.signalLocked()
}

// Pending is the number of timers waiting to fire.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitPending waits until at least n timers are waiting to fire, so a test
// knows the code under test has armed its timer before advancing the
// clock. It reports false if that does not happen within limit (real time).
func (c *Clock) WaitPending(n int, limit time.Duration) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ok, changed := len(c.timers) >= n, c.changed
		c.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}

func (c *Clock) signalLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

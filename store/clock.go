package store

import "time"

// Clock is the store's source of time: every reading of the time and
// every wait of the store goes through it, so that tests move time
// forward instead of sleeping. Its methods use only built-in types, so
// one fake clock satisfies the clocks of every package.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a channel that receives the time once d has
	// passed, and a function that stops the timer, with the meaning of
	// time.Timer.Stop.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// systemClock is the real clock; now may replace its reading of the time
// (Options.Now) while its timers keep real time.
type systemClock struct{ now func() time.Time }

func (c systemClock) Now() time.Time { return c.now() }

func (systemClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// alarm is one of the committer's timers. Unarmed, its channel is nil and
// so never ready in a select.
type alarm struct {
	c    <-chan time.Time
	stop func() bool
	at   time.Time
}

// set arms the alarm for at, replacing whatever it was armed for.
func (a *alarm) set(clk Clock, at time.Time) {
	a.clear()
	a.c, a.stop = clk.NewTimer(at.Sub(clk.Now()))
	a.at = at
}

// clear disarms the alarm; call it also once the alarm has fired.
func (a *alarm) clear() {
	if a.stop != nil {
		a.stop()
	}
	*a = alarm{}
}

func (a *alarm) armed() bool { return a.c != nil }

var _ Clock = systemClock{}

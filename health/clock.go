package health

import "time"

// Clock is the scheduler's time source: what is due, how late a run
// started and when an output may be rewritten are read from Now, and the
// scheduler sleeps on NewTimer. It uses only built-in types, so that the
// one fake clock of beacon's tests satisfies it as it does store's.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives the time once d has
	// passed, and a function with time.Timer.Stop's meaning.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// realClock is the Clock of production: the system's.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// alarm is the Run loop's one timer. It is re-armed only when the time to
// wake changes, so that a loop turning a thousand times a second does not
// create a timer on every turn.
type alarm struct {
	clock  Clock
	c      <-chan time.Time // nil when disarmed: a nil channel never fires
	cancel func() bool
	at     time.Time
}

// set arms the alarm for at, keeping the armed timer if it is for at.
func (a *alarm) set(at time.Time) {
	if a.c != nil && a.at.Equal(at) {
		return
	}
	a.stop()
	a.c, a.cancel = a.clock.NewTimer(at.Sub(a.clock.Now()))
	a.at = at
}

// stop disarms the alarm.
func (a *alarm) stop() {
	if a.cancel != nil {
		a.cancel()
	}
	a.c, a.cancel = nil, nil
}

// fired notes that the armed timer went off, so the next set arms anew.
func (a *alarm) fired() { a.c, a.cancel = nil, nil }

var _ Clock = realClock{}

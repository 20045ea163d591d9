package health

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestQueueOrder(t *testing.T) {
	var q queue
	base := time.Now()
	var es []*entry
	for i := 0; i < 500; i++ {
		e := &entry{index: -1}
		es = append(es, e)
		q.schedule(e, base.Add(time.Duration(rand.IntN(1000))*time.Millisecond))
	}
	for _, e := range es[:100] { // move some, drop some
		q.schedule(e, base.Add(time.Duration(rand.IntN(1000))*time.Millisecond))
	}
	for _, e := range es[100:150] {
		q.unschedule(e)
		if e.index != -1 {
			t.Fatalf("unscheduled entry keeps index %d", e.index)
		}
	}
	var last time.Time
	for n := 0; q.peek() != nil; n++ {
		e := q.peek()
		if e.next.Before(last) {
			t.Fatalf("item %d at %s came after %s", n, e.next, last)
		}
		last = e.next
		q.unschedule(e)
	}
}

func TestSlots(t *testing.T) {
	e := &entry{interval: 10 * time.Second, phase: 3 * time.Second}
	at := func(s int64) time.Time { return time.Unix(s, 0) }
	tests := []struct {
		name         string
		planned, now time.Time
		want         time.Time
	}{
		{name: "second run at the phase, at least a tenth in", planned: at(1000), now: at(1000), want: at(1003)},
		{name: "phase too close: next slot", planned: at(1002).Add(time.Second / 2), now: at(1002), want: at(1013)},
		{name: "steady: exactly one interval", planned: at(1013), now: at(1013), want: at(1023)},
		{name: "late run is not caught up", planned: at(1013), now: at(1045), want: at(1053)},
	}
	for _, tc := range tests {
		if got := e.afterRun(tc.planned, tc.now); !got.Equal(tc.want) {
			t.Errorf("%s: afterRun(%d, %d) = %d, want %d", tc.name, tc.planned.Unix(), tc.now.Unix(), got.Unix(), tc.want.Unix())
		}
	}
	// Whatever the phase, the gap after a first run stays within
	// [interval/10, 1.1 interval].
	for i := 0; i < 1000; i++ {
		e := &entry{interval: 10 * time.Second, phase: time.Duration(rand.Int64N(int64(10 * time.Second)))}
		first := time.Unix(0, rand.Int64N(1<<62))
		gap := e.afterRun(first, first).Sub(first)
		if gap < time.Second || gap > 11*time.Second {
			t.Fatalf("phase %s: gap %s after the first run", e.phase, gap)
		}
	}
}

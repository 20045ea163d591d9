package health

import (
	"container/heap"
	"context"
	"sync/atomic"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// entry is one check the scheduler runs. The Run goroutine owns the
// scheduling fields; the worker running the check owns counts for the
// length of a run (runs of one entry never overlap, and the hand-over
// goes through channels).
type entry struct {
	id       string
	instance string
	kind     store.Kind
	spec     *store.Check // as last reconciled; for spotting config changes
	svc      *service     // of its instance
	target   instanceTarget
	checker  Checker // nil for TTL checks
	interval time.Duration
	timeout  time.Duration
	// phase places the check's runs after the first at the times t with
	// t ≡ phase (mod interval): each check keeps an exact period, and
	// random phases spread all checks evenly over their interval.
	phase time.Duration

	next    time.Time // planned start; for TTL checks the deadline
	index   int       // position in its service's queue, -1 when not queued
	running bool
	ran     bool                               // has been dispatched at least once
	gone    atomic.Bool                        // set when the check goes or changes
	run     atomic.Pointer[context.CancelFunc] // cancels the run in flight

	// Owned by the worker during a run.
	counts thresholds
	// Guarded by the writer's mutex.
	lastWrite time.Time
}

// startRun notes the cancel func of a run about to start; a run that
// starts after the entry went is cancelled at once.
func (e *entry) startRun(cancel context.CancelFunc) {
	e.run.Store(&cancel)
	if e.gone.Load() {
		cancel()
	}
}

func (e *entry) endRun() { e.run.Store(nil) }

// stop marks the entry gone and cancels its run in flight, if any.
func (e *entry) stop() {
	e.gone.Store(true)
	if cancel := e.run.Load(); cancel != nil {
		(*cancel)()
	}
}

// slotAfter returns the first time at or after t at the entry's phase.
func (e *entry) slotAfter(t time.Time) time.Time {
	iv := int64(e.interval)
	rem := (t.UnixNano() - int64(e.phase)) % iv
	if rem < 0 {
		rem += iv
	}
	if rem == 0 {
		return t
	}
	return t.Add(time.Duration(iv - rem))
}

// afterRun plans the run that follows one planned at planned, at the
// entry's phase. The gap to the second run is between a tenth of the
// interval and 1.1 intervals, so no gap is much longer than the interval
// DNS TTLs are capped by; later gaps are exactly one interval. A run that
// started late is not caught up on: the next slot after now follows.
func (e *entry) afterRun(planned, now time.Time) time.Time {
	t := planned.Add(e.interval / 10)
	if now.After(t) {
		t = now
	}
	return e.slotAfter(t)
}

// queue is a min-heap of entries by planned start, one per service; the
// services are in turn on heaps by their earliest entry, so that one
// timer for the earliest of all drives every check, instead of a sleeping
// goroutine per check.
// Items carry the start as nanoseconds so that comparisons stay within
// the heap's own memory rather than chasing entry pointers.
type queue []item

type item struct {
	at int64 // e.next.UnixNano()
	e  *entry
}

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].at < q[j].at }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].e.index, q[j].e.index = i, j
}

func (q *queue) Push(x any) {
	it := x.(item)
	it.e.index = len(*q)
	*q = append(*q, it)
}

func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	old[len(old)-1] = item{}
	*q = old[:len(old)-1]
	it.e.index = -1
	return it
}

// schedule queues e at t, or moves it there if queued already.
func (q *queue) schedule(e *entry, t time.Time) {
	e.next = t
	if e.index >= 0 {
		(*q)[e.index].at = t.UnixNano()
		heap.Fix(q, e.index)
		return
	}
	heap.Push(q, item{t.UnixNano(), e})
}

// unschedule takes e off the queue if it is on it.
func (q *queue) unschedule(e *entry) {
	if e.index >= 0 {
		heap.Remove(q, e.index)
	}
}

// peek returns the earliest entry, or nil.
func (q queue) peek() *entry {
	if len(q) == 0 {
		return nil
	}
	return q[0].e
}

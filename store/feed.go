package store

import "sync"

// maxQueued bounds a subscriber's backlog. One that falls further behind
// is told to resync from the current snapshot instead.
const maxQueued = 1 << 16

// Event says that one instance changed. Old and New are its values before
// and after (nil when it was added or removed). Subscribers that act on
// the instance should read its latest value from Store.Snapshot, since
// events may be stale by the time they are read.
type Event struct {
	Index uint64
	ID    string
	Old   *Instance
	New   *Instance
}

// Subscription is a change feed. It never blocks the store: events queue
// up to a bound, past which the subscriber is told to resync.
type Subscription struct {
	s      *Store
	mu     sync.Mutex
	queue  []Event
	resync bool
	ready  chan struct{}
}

// Subscribe starts a change feed. Take the snapshot after subscribing, so
// no change falls between the two.
func (s *Store) Subscribe() *Subscription {
	sub := &Subscription{s: s, ready: make(chan struct{}, 1)}
	s.subMu.Lock()
	s.subs[sub] = struct{}{}
	s.subMu.Unlock()
	return sub
}

// Ready receives a value when events are waiting.
func (sub *Subscription) Ready() <-chan struct{} { return sub.ready }

// Next takes the waiting events. resync reports that events were dropped
// and the subscriber should reconcile with the whole current snapshot.
func (sub *Subscription) Next() (events []Event, resync bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	events, resync = sub.queue, sub.resync
	sub.queue, sub.resync = nil, false
	return events, resync
}

// Close ends the subscription.
func (sub *Subscription) Close() {
	sub.s.subMu.Lock()
	delete(sub.s.subs, sub)
	sub.s.subMu.Unlock()
}

func (sub *Subscription) push(events []Event) {
	sub.mu.Lock()
	if len(sub.queue)+len(events) > maxQueued {
		sub.queue, sub.resync = nil, true
	} else {
		sub.queue = append(sub.queue, events...)
	}
	sub.mu.Unlock()
	select {
	case sub.ready <- struct{}{}:
	default:
	}
}

func (s *Store) notify(events []Event) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for sub := range s.subs {
		sub.push(events)
	}
}

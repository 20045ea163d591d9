package health

import (
	"time"

	"github.com/beacon-dns/beacon/store"
)

// ttlRetry is how long the scheduler waits before asking again about a
// TTL check the store did not expire although its deadline had passed by
// the scheduler's clock (the two clocks may differ).
const ttlRetry = 100 * time.Millisecond

// timeTTL queues a TTL check for its deadline, which heartbeats move: the
// scheduler reads it from the latest snapshot on every change of the
// instance. A critical check has nothing to expire and waits, unqueued,
// for its next report. ran says the expiry was just attempted.
func (s *Scheduler) timeTTL(e *entry, c *store.Check, ran bool) {
	if c.Status == store.Critical {
		s.unschedule(e)
		return
	}
	t := c.TTLDeadline()
	if now := s.cfg.Clock.Now(); ran && !t.After(now) {
		t = now.Add(ttlRetry)
	}
	s.schedule(e, t)
}

// expire asks the store to turn a TTL check critical. The store decides
// atomically, against the latest heartbeat, so a report that arrives at
// the last moment wins.
func (s *Scheduler) expire(e *entry) {
	c, _ := s.st.Snapshot().Check(e.id)
	if c == nil || c.Status == store.Critical {
		return
	}
	if err := s.st.ExpireTTL(e.id); err != nil {
		s.storeError("expiring TTL check", e.id, err)
		return
	}
	if c, _ := s.st.Snapshot().Check(e.id); c != nil && c.Status == store.Critical {
		s.met.checked(store.KindTTL, store.Critical)
		s.log.Warn("TTL check expired", "check", e.id, "instance", e.instance, "ttl", c.TTL)
	}
}

package store

import "time"

// reapRetry is how soon the reaper tries again when removing a due
// instance failed.
const reapRetry = time.Second

// track notes the checks of in that may deregister it when critical too
// long (DeregisterCriticalServiceAfter), and brings the reaper's next
// wake-up forward to the earliest of their deadlines.
func (s *Store) track(in *Instance) {
	for _, c := range in.Checks {
		if c.DeregisterCriticalServiceAfter > 0 && c.Status == Critical {
			s.reapable[c.ID] = struct{}{}
			if at := s.reapDeadline(c); s.reapAt.IsZero() || at.Before(s.reapAt) {
				s.reapAt = at
			}
		}
	}
}

func (s *Store) untrack(in *Instance) {
	for _, c := range in.Checks {
		delete(s.reapable, c.ID)
	}
}

// reapDeadline is when a critical check deregisters its instance. As in
// Consul, critical time counts from this start at the earliest: beacon's
// own downtime is not the instance's, and its client had no beacon to
// report to meanwhile.
func (s *Store) reapDeadline(c *Check) time.Time {
	since := c.StatusSince
	if since.Before(s.started) {
		since = s.started
	}
	return since.Add(c.DeregisterCriticalServiceAfter)
}

// reap deregisters, durably, every instance with a check that has been
// critical for its DeregisterCriticalServiceAfter, and sets the next
// wake-up to the earliest deadline still ahead. It runs on the
// committer's alarm, at the deadline itself.
func (s *Store) reap() {
	if s.stoppedErr() != nil {
		s.reapAt = time.Time{}
		return
	}
	snap := s.snap.Load()
	now := s.opts.Clock.Now()
	var next time.Time
	due := map[string]bool{}
	for id := range s.reapable {
		c, in := snap.Check(id)
		if c == nil || c.Status != Critical || c.DeregisterCriticalServiceAfter == 0 {
			delete(s.reapable, id)
			continue
		}
		at := s.reapDeadline(c)
		if !now.Before(at) {
			due[in.ID] = true
			at = now.Add(reapRetry)
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	s.reapAt = next
	var batch []*request
	for id := range due {
		s.opts.Logger.Info("deregistering instance critical for too long", "id", id)
		batch = append(batch, &request{durable: true, done: make(chan struct{}), op: func(t *txn) error {
			old := t.instance(id)
			if old == nil {
				return nil
			}
			t.bump()
			t.put(old, nil, true, true)
			return nil
		}})
	}
	if len(batch) > 0 {
		s.apply(batch)
	}
}

package store

import "time"

const (
	// reapRetry is how soon the reaper tries again when removing a due
	// instance failed.
	reapRetry = time.Second
	// reapPoll bounds the reaper's sleep on the system clock; see nextReap.
	reapPoll = 250 * time.Millisecond
)

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

// nextReap is when the reaper's alarm should ring: at the next deadline,
// and on the system clock at least every reapPoll. Deadlines are
// wall-clock times, some read from disk, and wall time can jump (a step
// of the system clock, a suspended host, an Options.Now ahead of real
// time) while a timer runs on monotonic time; looking again that often
// keeps a removal within reapPoll of its deadline all the same. A clock
// passed in Options.Clock runs its timers on its own time and needs no
// such look.
func (s *Store) nextReap() time.Time {
	if s.reapAt.IsZero() {
		return s.reapAt
	}
	if _, system := s.opts.Clock.(systemClock); system {
		if poll := s.opts.Clock.Now().Add(reapPoll); poll.Before(s.reapAt) {
			return poll
		}
	}
	return s.reapAt
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
	due := map[string]*Check{}
	for id := range s.reapable {
		c, in := snap.Check(id)
		if c == nil || c.Status != Critical || c.DeregisterCriticalServiceAfter == 0 {
			delete(s.reapable, id)
			continue
		}
		at := s.reapDeadline(c)
		if !now.Before(at) {
			due[in.ID] = c
			at = now.Add(reapRetry)
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	s.reapAt = next
	var batch []*request
	for id, c := range due {
		in := snap.Instance(id)
		s.opts.Logger.Info("deregistering instance critical for too long", instanceAttrs(in, "check", c.ID,
			"critical_since", c.StatusSince.UTC().Format(time.RFC3339), "deregister_after", c.DeregisterCriticalServiceAfter.String())...)
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

package store

// track notes the checks of in that may deregister it when critical too
// long (DeregisterCriticalServiceAfter).
func (s *Store) track(in *Instance) {
	for _, c := range in.Checks {
		if c.DeregisterCriticalServiceAfter > 0 && c.Status == Critical {
			s.reapable[c.ID] = struct{}{}
		}
	}
}

func (s *Store) untrack(in *Instance) {
	for _, c := range in.Checks {
		delete(s.reapable, c.ID)
	}
}

// reap deregisters, durably, every instance with a check that has been
// critical for its DeregisterCriticalServiceAfter. It runs on the
// committer's ticker, so removal comes within a quarter second of the
// deadline.
func (s *Store) reap() {
	if len(s.reapable) == 0 {
		return
	}
	snap := s.snap.Load()
	now := s.opts.Now()
	due := map[string]bool{}
	for id := range s.reapable {
		c, in := snap.Check(id)
		if c == nil || c.Status != Critical || c.DeregisterCriticalServiceAfter == 0 {
			delete(s.reapable, id)
			continue
		}
		if now.Sub(c.StatusSince) >= c.DeregisterCriticalServiceAfter {
			due[in.ID] = true
		}
	}
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

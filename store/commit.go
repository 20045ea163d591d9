package store

import (
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// do queues op for the committer and waits until it is published (and,
// when durable, committed to disk).
func (s *Store) do(durable bool, op func(*txn) error) error {
	r := &request{durable: durable, op: op, done: make(chan struct{})}
	select {
	case s.reqs <- r:
	case <-s.quit:
		return ErrClosed
	}
	<-r.done
	return r.err
}

// run is the committer: the one goroutine that changes the registry.
func (s *Store) run() {
	defer close(s.stopped)
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	armed := false
	reap := time.NewTicker(250 * time.Millisecond)
	defer reap.Stop()
	for {
		select {
		case r := <-s.reqs:
			s.apply(s.gather(r))
		case <-flush.C:
			armed = false
			s.flushLazy()
		case <-reap.C:
			s.reap()
		case <-s.quit:
			s.flushLazy()
			return
		}
		if len(s.lazy) > 0 && !armed {
			flush.Reset(s.opts.FlushInterval)
			armed = true
		}
	}
}

// gather takes r and every write already waiting behind it, so that all
// of them share one commit.
func (s *Store) gather(r *request) []*request {
	batch := []*request{r}
	for len(batch) < maxGather {
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// apply runs a batch of writes on one txn, commits it when any write needs
// durability (or the index ceiling must move), then publishes. If the
// commit fails, nothing of the batch is published and every write in it
// fails: memory and disk stay as they were.
func (s *Store) apply(batch []*request) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	t := newTxn(s.snap.Load(), s.opts.Now())
	durable := false
	for _, r := range batch {
		if err := runOp(r.op, t); err != nil {
			if errors.Is(err, errPanic) {
				failAll(batch, err)
				return
			}
			r.err = err
			continue
		}
		durable = durable || r.durable
	}
	if !t.changed() {
		return
	}
	if durable || t.index > s.ceiling {
		if err := s.commit(t); err != nil {
			s.opts.Logger.Error("commit failed", "path", s.path, "err", err)
			failAll(batch, err)
			return
		}
	} else {
		for id := range t.lazy {
			s.lazy[id] = struct{}{}
		}
		s.histMu.Lock()
		s.hist = append(s.hist, t.history...)
		s.histMu.Unlock()
	}
	s.publish(t)
}

var errPanic = errors.New("internal error")

func runOp(op func(*txn) error, t *txn) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", errPanic, p)
		}
	}()
	return op(t)
}

func failAll(batch []*request, err error) {
	for _, r := range batch {
		if r.err == nil {
			r.err = err
		}
	}
}

// commit writes every instance the txn changed, plus those with status
// changes still waiting for a flush, in one bolt transaction.
func (s *Store) commit(t *txn) error {
	start := time.Now()
	ceiling := s.ceiling
	if t.index > ceiling {
		ceiling = t.index + ceilingStep
	}
	ids := make(map[string]struct{}, len(t.durable)+len(t.lazy)+len(s.lazy))
	for _, m := range []map[string]struct{}{t.durable, t.lazy, s.lazy} {
		for id := range m {
			ids[id] = struct{}{}
		}
	}
	hist := append(slices.Clip(s.hist), t.history...)
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := writeInstances(tx, ids, t.instance); err != nil {
			return err
		}
		if err := writeHistory(tx, txWriter{tx}, hist, ids, t.instance, t.now); err != nil {
			return err
		}
		if ceiling != s.ceiling {
			return tx.Bucket(bucketMeta).Put(keyIndex, u64(ceiling))
		}
		return nil
	})
	s.metrics.commit(time.Since(start))
	if err != nil {
		s.metrics.writeError()
		return fmt.Errorf("commit to %s: %w", s.path, err)
	}
	s.ceiling = ceiling
	clear(s.lazy)
	s.clearHistory()
	return nil
}

// writeInstances puts the current record of each ID, or deletes it.
func writeInstances(tx *bolt.Tx, ids map[string]struct{}, get func(string) *Instance) error {
	b := tx.Bucket(bucketInstances)
	for id := range ids {
		in := get(id)
		if in == nil {
			if err := b.Delete([]byte(id)); err != nil {
				return err
			}
			continue
		}
		v, err := encodeInstance(in)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(id), v); err != nil {
			return err
		}
	}
	return nil
}

// flushLazy writes status changes that have waited for a batch.
func (s *Store) flushLazy() {
	if len(s.lazy) == 0 {
		return
	}
	snap := s.snap.Load()
	start := time.Now()
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := writeInstances(tx, s.lazy, snap.Instance); err != nil {
			return err
		}
		return writeHistory(tx, txWriter{tx}, s.hist, s.lazy, snap.Instance, s.opts.Now())
	})
	s.metrics.commit(time.Since(start))
	if err != nil {
		s.metrics.writeError()
		s.opts.Logger.Error("flushing status changes failed; will retry", "path", s.path, "err", err)
		return
	}
	clear(s.lazy)
	s.clearHistory()
}

// clearHistory drops the transitions a commit has just written.
func (s *Store) clearHistory() {
	s.histMu.Lock()
	s.hist = nil
	s.histMu.Unlock()
}

// publish makes the txn's snapshot current, wakes whoever waits on what
// changed, and feeds subscribers.
func (s *Store) publish(t *txn) {
	snap, closers := t.snapshot()
	s.snap.Store(snap)
	for _, c := range closers {
		close(c)
	}
	for _, ev := range t.events {
		if ev.Old != nil {
			s.untrack(ev.Old)
		}
		if ev.New != nil {
			s.track(ev.New)
		}
	}
	s.notify(t.events)
	s.logChanges(t.events, t.history)
}

package store

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// do queues op for the committer and waits until it is published (and,
// when durable, committed to disk).
func (s *Store) do(durable bool, op func(*txn) error) error {
	if s.remote != nil {
		return s.remote.do(op)
	}
	if err := s.stoppedErr(); err != nil {
		return err
	}
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
	// A fault reading a damaged page of the mapped file becomes a panic
	// that update recovers, not a crash.
	debug.SetPanicOnFault(true)
	var flush, reap alarm
	defer flush.clear()
	defer reap.clear()
	for {
		if len(s.lazy) > 0 && !flush.armed() && s.stoppedErr() == nil {
			flush.set(s.opts.Clock, s.opts.Clock.Now().Add(s.opts.FlushInterval))
		}
		// Only an earlier deadline moves an armed alarm, so that a stream
		// of writes cannot keep pushing it back.
		if at := s.nextReap(); !at.IsZero() && (!reap.armed() || at.Before(reap.at)) {
			reap.set(s.opts.Clock, at)
		}
		select {
		case r := <-s.reqs:
			s.apply(s.gather(r))
		case <-flush.c:
			flush.clear()
			s.flushLazy()
		case <-reap.c:
			reap.clear()
			s.reap()
		case <-s.quit:
			s.shutdown()
			return
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
// fails; see update for what the failure says about the disk.
func (s *Store) apply(batch []*request) {
	if s.remote != nil {
		s.remote.applyAsync(batch)
		return
	}
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	if err := s.stoppedErr(); err != nil {
		failAll(batch, err)
		return
	}
	t := newTxn(s.snap.Load(), s.opts.Clock.Now())
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
			if s.stoppedErr() == nil {
				s.opts.Logger.Error("commit failed; nothing was changed", "path", s.path, "err", err)
			}
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
	err := s.update(func(tx *bolt.Tx) error {
		w := newWriter(tx)
		if err := w.instances(ids, t.instance); err != nil {
			return err
		}
		if err := writeHistory(tx, w, hist, ids, t.instance, t.now); err != nil {
			return err
		}
		if ceiling != s.ceiling {
			if err := w.put(bucketMeta, keyIndex, u64(ceiling)); err != nil {
				return err
			}
		}
		return w.finish()
	})
	s.metrics.commit(time.Since(start))
	if err != nil {
		// Writes are refused before update once stopped, so each error
		// here is a write that failed, the one that stopped them included.
		s.metrics.writeError()
	}
	if errors.Is(err, ErrWritesStopped) {
		return err
	}
	if err != nil {
		return fmt.Errorf("commit to %s: %w", s.path, err)
	}
	s.ceiling = ceiling
	clear(s.lazy)
	s.clearHistory()
	return nil
}

// instances puts the current record of each ID, or deletes it.
func (w *writer) instances(ids map[string]struct{}, get func(string) *Instance) error {
	for id := range ids {
		in := get(id)
		if in == nil {
			if err := w.delete(bucketInstances, []byte(id)); err != nil {
				return err
			}
			continue
		}
		v, err := encodeInstance(in)
		if err != nil {
			return err
		}
		if err := w.put(bucketInstances, []byte(id), v); err != nil {
			return err
		}
	}
	return nil
}

// flushLazy writes status changes that have waited for a batch.
func (s *Store) flushLazy() {
	if len(s.lazy) == 0 || s.stoppedErr() != nil {
		return
	}
	snap := s.snap.Load()
	start := time.Now()
	err := s.update(func(tx *bolt.Tx) error {
		w := newWriter(tx)
		if err := w.instances(s.lazy, snap.Instance); err != nil {
			return err
		}
		if err := writeHistory(tx, w, s.hist, s.lazy, snap.Instance, s.opts.Clock.Now()); err != nil {
			return err
		}
		return w.finish()
	})
	s.metrics.commit(time.Since(start))
	if err != nil {
		s.metrics.writeError()
		if !errors.Is(err, ErrWritesStopped) {
			s.opts.Logger.Error("flushing status changes failed; will retry", "path", s.path, "err", err)
		}
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

// shutdown writes the status changes waiting for a flush, then, in a
// commit of its own, the exact change index in place of the ceiling, so
// that a clean restart continues from the index it stopped at. Kept
// apart, a damaged newest meta page, after which bbolt falls back to the
// one before, costs only the exact index.
func (s *Store) shutdown() {
	s.flushLazy()
	if s.stoppedErr() != nil || len(s.lazy) > 0 {
		return
	}
	snap := s.snap.Load()
	err := s.update(func(tx *bolt.Tx) error {
		w := newWriter(tx)
		if err := w.put(bucketMeta, keyIndex, u64(snap.index)); err != nil {
			return err
		}
		return w.finish()
	})
	if err != nil {
		s.metrics.writeError()
		s.opts.Logger.Error("writing the last change index failed; the next start continues from the ceiling", "path", s.path, "err", err)
		return
	}
	s.ceiling = snap.index
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
	if !t.quiet {
		s.logChanges(t.events, t.history)
	}
}

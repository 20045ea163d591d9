package health

import (
	"errors"
	"sync"

	"github.com/beacon-dns/beacon/store"
)

// maxWriters bounds the goroutines writing results to the store at once.
// Each write waits for a round of the store's committer, which during a
// burst of durable registrations includes an fsync; many writers waiting
// together share one round (the committer gathers them), so 32 keep up
// with thousands of changes a second.
const maxWriters = 32

// writer takes reported results off the check workers and writes them to
// the store, so that a worker is free again as soon as its check ends,
// however busy the store is. Results for a check still waiting to be
// written replace the waiting one: only the latest matters.
type writer struct {
	s       *Scheduler
	mu      sync.Mutex
	pending map[*entry]Result
	queue   []*entry
	active  int
	wg      sync.WaitGroup
}

func newWriter(s *Scheduler) *writer {
	return &writer{s: s, pending: map[*entry]Result{}}
}

// submit hands over a reported result of e. A result that matches the
// store, or that changes only the output within OutputInterval of the
// check's last write, is dropped, unless an older result is waiting, which
// it then replaces.
func (w *writer) submit(e *entry, res Result) {
	res.Output = clip(res.Output)
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, waiting := w.pending[e]; waiting {
		w.pending[e] = res
		return
	}
	if !w.due(e, res) {
		return
	}
	w.pending[e] = res
	w.queue = append(w.queue, e)
	if w.active < maxWriters {
		w.active++
		w.wg.Add(1)
		go w.run()
	}
}

// due reports whether res differs from the store enough to write now.
// Called with mu held, which guards every entry's lastWrite.
func (w *writer) due(e *entry, res Result) bool {
	c, _ := w.s.st.Snapshot().Check(e.id)
	if c == nil || c.Status == res.Status && c.Output == res.Output {
		return false
	}
	return c.Status != res.Status || w.s.cfg.Clock.Now().Sub(e.lastWrite) >= w.s.cfg.OutputInterval
}

// run writes waiting results until none is left.
func (w *writer) run() {
	defer w.wg.Done()
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.active--
			w.mu.Unlock()
			return
		}
		e := w.queue[0]
		w.queue[0] = nil
		w.queue = w.queue[1:]
		res := w.pending[e]
		delete(w.pending, e)
		write := !e.gone.Load() && w.due(e, res)
		if write {
			e.lastWrite = w.s.cfg.Clock.Now()
		}
		w.mu.Unlock()
		if write {
			w.s.write(e, res)
		}
	}
}

// wait blocks until every waiting result is written.
func (w *writer) wait() { w.wg.Wait() }

// write records one result in the store and logs status changes.
func (s *Scheduler) write(e *entry, res Result) {
	prev := statusIn(s.st.Snapshot(), e.id)
	if err := s.st.SetCheckStatus(e.id, res.Status, res.Output); err != nil {
		s.storeError("recording check result", e.id, err)
		return
	}
	switch {
	case prev == res.Status:
	case res.Status == store.Critical:
		s.log.Warn("check is now critical", "check", e.id, "instance", e.instance, "was", prev, "output", res.Output)
	default:
		s.log.Info("check status changed", "check", e.id, "instance", e.instance, "status", res.Status, "was", prev)
	}
}

func statusIn(snap *store.Snapshot, id string) store.Status {
	if c, _ := snap.Check(id); c != nil {
		return c.Status
	}
	return ""
}

// storeError logs a failed write, except where the failure is expected
// or already said once by the store: a check removed meanwhile, a store
// closing before the scheduler, writes stopped after a disk fault, or a
// node on etcd that lost its membership (its checks move elsewhere).
// Logging those per check would repeat one fact thousands of times.
func (s *Scheduler) storeError(what, id string, err error) {
	for _, quiet := range []error{store.ErrNotFound, store.ErrClosed, store.ErrWritesStopped, store.ErrNotMember} {
		if errors.Is(err, quiet) {
			return
		}
	}
	s.log.Error(what+" failed", "check", id, "err", err)
}

package health

import (
	"context"
	"errors"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// work runs e once on a worker goroutine and hands it back to the loop.
func (s *Scheduler) work(e *entry, planned time.Time) {
	defer s.wg.Done()
	defer func() { s.done <- e }()
	if f := s.cfg.ObserveLateness; f != nil {
		f(e.kind, s.cfg.Now().Sub(planned))
	}
	if e.kind == store.KindTTL {
		s.expire(e)
		return
	}
	timeout := e.timeout
	if timeout <= 0 {
		timeout = store.DefaultTimeout
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(e.ctx, timeout)
	res := s.safeCheck(ctx, e.id, e.checker)
	cancel()
	s.met.observe(e.kind, res.Status, time.Since(start))
	if e.ctx.Err() != nil {
		return // the check was removed or changed meanwhile, or we stop
	}
	if e.counts.report(res.Status) {
		s.record(e, res)
	}
}

// record writes a reported result to the store. A status change goes at
// once; an output that changed alone waits until OutputInterval has
// passed since this check's last write; an unchanged result writes
// nothing, which keeps steady checks off the store's committer.
func (s *Scheduler) record(e *entry, res Result) {
	out := clip(res.Output)
	c, _ := s.st.Snapshot().Check(e.id)
	if c == nil {
		return
	}
	now := s.cfg.Now()
	if c.Status == res.Status && (c.Output == out || now.Sub(e.lastWrite) < s.cfg.OutputInterval) {
		return
	}
	e.lastWrite = now
	if err := s.st.SetCheckStatus(e.id, res.Status, out); err != nil {
		s.storeError("recording check result", e.id, err)
		return
	}
	switch {
	case c.Status == res.Status:
	case res.Status == store.Critical:
		s.log.Warn("check is now critical", "check", e.id, "instance", e.instance, "was", c.Status, "output", out)
	default:
		s.log.Info("check status changed", "check", e.id, "instance", e.instance, "status", res.Status, "was", c.Status)
	}
}

// storeError logs a failed write, except for a check removed meanwhile
// or a store closing before the scheduler: both are expected.
func (s *Scheduler) storeError(what, id string, err error) {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrClosed) {
		return
	}
	s.log.Error(what+" failed", "check", id, "err", err)
}

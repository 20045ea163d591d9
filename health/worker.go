package health

import (
	"context"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// worker runs jobs until the loop closes the channel.
func (s *Scheduler) worker() {
	defer s.wg.Done()
	for j := range s.jobs {
		s.work(j)
		s.done <- j.e
	}
}

// work runs one job.
func (s *Scheduler) work(j job) {
	e := j.e
	if f := s.cfg.ObserveLateness; f != nil {
		f(e.kind, j.first, s.cfg.Clock.Now().Sub(j.planned))
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
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	e.startRun(cancel)
	res := s.safeCheck(ctx, e.id, e.checker)
	e.endRun()
	cancel()
	s.met.observe(e.kind, res.Status, time.Since(start))
	if e.gone.Load() || s.ctx.Err() != nil {
		return // the check was removed or changed meanwhile, or we stop
	}
	if e.counts.report(res.Status) {
		s.out.submit(e, res)
	}
}

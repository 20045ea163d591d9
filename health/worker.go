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
	late := s.cfg.Clock.Now().Sub(j.planned)
	s.met.lateness.Observe(max(late, 0).Seconds())
	if f := s.cfg.ObserveLateness; f != nil {
		f(e.kind, j.first, late)
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
	if res.Local != nil {
		s.lacked(e, res.Local)
		return
	}
	s.met.observe(e.kind, res.Status, time.Since(start))
	if e.gone.Load() || s.ctx.Err() != nil {
		return // the check was removed or changed meanwhile, or we stop
	}
	if e.counts.report(res.Status) {
		s.out.submit(e, res)
	}
}

// lacked records a run that had no result because this host was out of a
// resource: counted and logged, but not reported, so the check keeps its
// status and the next run, one interval on, tries again.
func (s *Scheduler) lacked(e *entry, err error) {
	s.met.lacked(err)
	if held, ok := s.localLog.allow(s.cfg.Clock.Now()); ok {
		s.log.Warn("health check run has no result: this host is out of a resource; the check keeps its status",
			"check", e.id, "instance", e.instance, "err", err, "more_since_last_logged", held)
	}
}

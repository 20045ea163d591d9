package health

import (
	"context"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// maxIdle is how many idle workers the pool keeps. Long-lived workers
// keep the stacks they grew, where a goroutine per run would grow (copy)
// its stack on every HTTP check; beyond this many, a worker left idle
// after a burst (hung targets that recovered) exits.
const maxIdle = DefaultWorkers

// hire makes sure a worker takes the job about to be sent: an idle one,
// or else a new one.
func (s *Scheduler) hire() {
	if s.idle > 0 {
		s.idle--
		return
	}
	s.wg.Add(1)
	go s.worker()
}

// retire lets idle workers beyond maxIdle go.
func (s *Scheduler) retire() {
	for s.idle > maxIdle {
		s.idle--
		s.jobs <- job{}
	}
}

// worker runs jobs until it is retired or the loop closes the channel.
func (s *Scheduler) worker() {
	defer s.wg.Done()
	for j := range s.jobs {
		if j.e == nil {
			return
		}
		s.work(j)
		select {
		case s.done <- j.e:
		case <-s.ctx.Done(): // the loop no longer takes runs back
			return
		}
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
	if s.cfg.Targets.instance {
		ctx = context.WithValue(ctx, instanceKey{}, &e.target)
	}
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

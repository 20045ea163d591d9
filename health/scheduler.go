package health

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// Scheduler runs every HTTP, TCP and TTL check in the store. It learns of
// checks only from the store's change feed and writes results back
// through the store. One goroutine (Run) owns the queue; checks run on at
// most Config.Workers goroutines at a time.
type Scheduler struct {
	cfg   Config
	st    Store
	log   *slog.Logger
	met   *metrics
	owned []*http.Transport
	out   *writer
	// localLog spaces out the warnings of runs without result.
	localLog rareLog
	started  atomic.Bool
	// Every HTTP check shares one client per transport; redirects are
	// followed up to 10, as Consul's client does.
	client, insecureClient *http.Client
	ctx                    context.Context // Run's; set before any worker starts

	// Owned by the Run goroutine.
	entries    map[string]*entry   // by check ID
	byInstance map[string][]*entry // by instance ID
	queue      queue
	busy       int

	jobs chan job    // to the workers
	done chan *entry // runs that ended; capacity Workers, so never blocks
	wg   sync.WaitGroup
}

// job is one run of an entry, planned for a time.
type job struct {
	e       *entry
	planned time.Time
	first   bool // the entry's first run
}

// New returns a Scheduler for st. When cfg.Registerer is set it registers
// the health metrics and the beacon_instances collector (see
// NewInstancesCollector) on it, so register neither again.
func New(cfg Config, st Store) *Scheduler {
	owned := cfg.fill()
	s := &Scheduler{
		cfg: cfg, st: st, log: cfg.Logger, owned: owned,
		met:            newMetrics(cfg.Registerer),
		entries:        map[string]*entry{},
		byInstance:     map[string][]*entry{},
		client:         &http.Client{Transport: cfg.Transport},
		insecureClient: &http.Client{Transport: cfg.InsecureTransport},
		jobs:           make(chan job),
		done:           make(chan *entry, cfg.Workers),
	}
	s.out = newWriter(s)
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(NewInstancesCollector(st))
	}
	return s
}

// errRunning reports a second call of Run.
var errRunning = errors.New("health: Scheduler.Run called more than once")

// Run runs checks until ctx is done, then stops every running check and
// waits for it. It returns nil then; it may be called once.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errRunning
	}
	// Subscribe before taking the snapshot, so no change falls between.
	sub := s.st.Subscribe()
	defer sub.Close()
	runCtx, stop := context.WithCancel(ctx)
	s.ctx = runCtx
	// A fixed pool: long-lived workers keep the stacks they grew, where a
	// goroutine per run would grow (copy) its stack on every HTTP check.
	for i := 0; i < s.cfg.Workers; i++ {
		s.wg.Add(1)
		go s.worker()
	}
	defer func() {
		stop()
		close(s.jobs)
		s.wg.Wait()
		s.out.wait() // results already reported still reach the store
		for _, t := range s.owned {
			t.CloseIdleConnections()
		}
	}()
	s.reconcileAll(s.st.Snapshot())
	s.log.Info("health checks running", "checks", len(s.entries), "workers", s.cfg.Workers)
	wake := alarm{clock: s.cfg.Clock}
	defer wake.stop()
	for {
		s.dispatch()
		s.arm(&wake)
		select {
		case <-ctx.Done():
			return nil
		case <-sub.Ready():
			events, resync := sub.Next()
			s.apply(events, resync)
		case e := <-s.done:
			s.finished(e)
		case <-wake.c:
			wake.fired()
		}
	}
}

// dispatch starts every due check while workers are free. Due checks
// beyond that wait in the queue, in order, and start late.
func (s *Scheduler) dispatch() {
	now := s.cfg.Clock.Now()
	for s.busy < s.cfg.Workers {
		e := s.queue.peek()
		if e == nil || e.next.After(now) {
			return
		}
		s.queue.unschedule(e)
		e.running = true
		s.busy++
		first := !e.ran && e.kind != store.KindTTL
		e.ran = true
		// A worker is free (busy < Workers), so this hands over at once.
		s.jobs <- job{e, e.next, first}
	}
}

// arm sets the timer for the earliest queued check. With every worker
// busy no timer is needed: the next run to end wakes the loop.
func (s *Scheduler) arm(wake *alarm) {
	e := s.queue.peek()
	if e == nil || s.busy >= s.cfg.Workers {
		wake.stop()
		return
	}
	wake.set(e.next)
}

// apply reconciles the instances a batch of events names with the latest
// snapshot, or everything after a resync.
func (s *Scheduler) apply(events []store.Event, resync bool) {
	snap := s.st.Snapshot()
	if resync {
		s.reconcileAll(snap)
		return
	}
	seen := make(map[string]bool, len(events))
	for _, ev := range events {
		if !seen[ev.ID] {
			seen[ev.ID] = true
			s.reconcile(ev.ID, snap)
		}
	}
}

func (s *Scheduler) reconcileAll(snap *store.Snapshot) {
	for _, id := range slices.Collect(maps.Keys(s.byInstance)) {
		if snap.Instance(id) == nil {
			s.reconcile(id, snap)
		}
	}
	for _, svc := range snap.Services() {
		for _, in := range svc.Instances {
			s.reconcile(in.ID, snap)
		}
	}
}

// reconcile makes the entries of instance id match its checks in snap:
// new checks are added and run at once, changed ones restart, removed
// ones stop.
func (s *Scheduler) reconcile(id string, snap *store.Snapshot) {
	var keep []*entry
	if in := snap.Instance(id); in != nil {
		for _, c := range in.Checks {
			if c.Kind == store.KindHTTP || c.Kind == store.KindTCP || c.Kind == store.KindTTL {
				keep = append(keep, s.upsert(c, id))
			}
		}
	}
	for _, e := range s.byInstance[id] {
		if !slices.Contains(keep, e) {
			s.remove(e)
		}
	}
	if len(keep) == 0 {
		delete(s.byInstance, id)
		return
	}
	s.byInstance[id] = keep
}

// upsert returns the entry of check c, creating or replacing it when c is
// new or its configuration changed.
func (s *Scheduler) upsert(c *store.Check, instance string) *entry {
	e := s.entries[c.ID]
	if e != nil && e.instance == instance && (e.spec == c || sameConfig(e.spec, c)) {
		e.spec = c
		if c.Kind == store.KindTTL && !e.running {
			s.timeTTL(e, c, false)
		}
		return e
	}
	if e != nil {
		s.remove(e)
		s.dropFromInstance(e)
	}
	e = s.newEntry(c, instance)
	s.entries[c.ID] = e
	if c.Kind == store.KindTTL {
		s.timeTTL(e, c, false)
	} else {
		s.queue.schedule(e, s.cfg.Clock.Now()) // the first run is right away
	}
	return e
}

func (s *Scheduler) newEntry(c *store.Check, instance string) *entry {
	e := &entry{id: c.ID, instance: instance, kind: c.Kind, spec: c, index: -1,
		interval: c.Interval, timeout: c.Timeout, counts: newThresholds(c)}
	switch c.Kind {
	case store.KindHTTP:
		client := s.client
		if c.TLSSkipVerify {
			client = s.insecureClient
		}
		e.checker = newHTTPChecker(c, client)
	case store.KindTCP:
		e.checker = newTCPChecker(c, s.cfg.Dial)
	}
	if e.interval > 0 {
		e.phase = s.cfg.phase(e.interval)
	}
	return e
}

// remove stops e: it leaves the queue, a run in flight is cancelled and
// its result dropped.
func (s *Scheduler) remove(e *entry) {
	e.stop()
	s.queue.unschedule(e)
	if s.entries[e.id] == e {
		delete(s.entries, e.id)
	}
}

// dropFromInstance forgets e in the index of its instance, for a check
// that moved to another instance.
func (s *Scheduler) dropFromInstance(e *entry) {
	list := slices.DeleteFunc(slices.Clone(s.byInstance[e.instance]), func(x *entry) bool { return x == e })
	if len(list) == 0 {
		delete(s.byInstance, e.instance)
		return
	}
	s.byInstance[e.instance] = list
}

// finished takes back a run that ended and plans the entry's next one.
func (s *Scheduler) finished(e *entry) {
	s.busy--
	e.running = false
	if e.gone.Load() {
		return
	}
	if e.kind == store.KindTTL {
		if c, _ := s.st.Snapshot().Check(e.id); c != nil {
			s.timeTTL(e, c, true)
		}
		return
	}
	s.queue.schedule(e, e.afterRun(e.next, s.cfg.Clock.Now()))
}

// sameConfig reports whether two versions of a check run the same way,
// so that a status change or a re-registration does not restart it.
func sameConfig(a, b *store.Check) bool {
	return a.Kind == b.Kind && a.HTTP == b.HTTP && a.Method == b.Method && a.Body == b.Body &&
		a.TLSSkipVerify == b.TLSSkipVerify && a.TCP == b.TCP && a.TTL == b.TTL &&
		a.Interval == b.Interval && a.Timeout == b.Timeout &&
		a.SuccessBeforePassing == b.SuccessBeforePassing &&
		a.FailuresBeforeCritical == b.FailuresBeforeCritical &&
		maps.EqualFunc(a.Header, b.Header, slices.Equal)
}

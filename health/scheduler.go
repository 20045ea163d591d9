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

// Scheduler runs the HTTP and TCP checks of the instances this node owns
// (every one, unless the store shares its checks among nodes; see
// sharer), and every TTL check. It learns of
// checks only from the store's change feed and writes results back
// through the store. One goroutine (Run) owns the plan; checks run on a
// pool of workers shared fairly between services (see service), whose
// size is Config.Workers or follows the checks (see sizePool).
type Scheduler struct {
	cfg   Config
	st    Store
	log   *slog.Logger
	met   *metrics
	owned []*http.Transport
	out   *writer
	// localLog and fullLog space out the warnings of runs without
	// result and of a full pool.
	localLog, fullLog rareLog
	started           atomic.Bool
	// Every HTTP check shares one client per transport; redirects are
	// followed up to 10, as Consul's client does.
	client, insecureClient *http.Client
	ctx                    context.Context // Run's; set before any worker starts
	// own says which instances' HTTP and TCP checks this node runs; nil
	// for a store that is the only node (see sharer). Owned by Run.
	own *store.Ownership

	// Owned by the Run goroutine.
	entries    map[string]*entry   // by check ID
	byInstance map[string][]*entry // by instance ID
	services   map[string]*service // by name
	waiting    svcHeap             // services with checks queued, none due
	ready      svcHeap             // services with a check due
	busy       int                 // checks running
	idle       int                 // workers waiting for a job
	limit      int                 // most checks running at once
	demand     int64               // sum of load over the entries
	fdCap      int                 // the descriptor budget's limit

	jobs chan job    // to the workers; a job without entry retires one
	done chan *entry // runs that ended
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
		services:       map[string]*service{},
		waiting:        svcHeap{less: byHead},
		ready:          svcHeap{less: byShare},
		fdCap:          descriptorCap(),
		client:         &http.Client{Transport: cfg.Transport},
		insecureClient: &http.Client{Transport: cfg.InsecureTransport},
		jobs:           make(chan job),
		done:           make(chan *entry, DefaultWorkers),
	}
	s.out = newWriter(s)
	s.sizePool()
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
	defer func() {
		stop()
		close(s.jobs)
		s.wg.Wait()
		s.out.wait() // results already reported still reach the store
		for _, t := range s.owned {
			t.CloseIdleConnections()
		}
	}()
	s.own = s.ownership()
	s.reconcileAll(s.st.Snapshot())
	s.log.Info("health checks running", "checks", len(s.entries), "services", len(s.services),
		"workers", s.limit, "descriptor_cap", s.fdCap, "targets", s.cfg.Targets.String())
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
			if s.cfg.applied != nil {
				s.cfg.applied(len(s.entries))
			}
		case <-s.ownChanged():
			s.own = s.ownership()
			s.reconcileAll(s.st.Snapshot())
		case e := <-s.done:
			s.finished(e)
		case <-wake.c:
			wake.fired()
		}
	}
}

// dispatch starts due checks while workers are free, each time from the
// service with the fewest checks running (see service). Due checks beyond
// that wait, and start late.
func (s *Scheduler) dispatch() {
	now := s.cfg.Clock.Now()
	s.promote(now)
	for s.busy < s.limit {
		sv := s.ready.peek()
		if sv == nil {
			break
		}
		e := sv.queue.peek()
		sv.queue.unschedule(e)
		sv.running++
		s.place(sv, now)
		e.running = true
		s.busy++
		first := !e.ran && e.kind != store.KindTTL
		e.ran = true
		s.hire()
		s.jobs <- job{e, e.next, first}
	}
	if s.ready.Len() > 0 {
		if held, ok := s.fullLog.allow(now); ok {
			s.log.Warn("every check worker is busy: due checks wait and start late; raise -check-workers if this lasts",
				"workers", s.limit, "services_waiting", s.ready.Len(), "more_since_last_logged", held)
		}
	}
	s.retire()
}

// arm sets the alarm for the earliest queued check. With every worker
// busy no alarm is needed: the next run to end wakes the loop.
func (s *Scheduler) arm(wake *alarm) {
	sv := s.waiting.peek()
	if sv == nil || s.busy >= s.limit {
		wake.stop()
		return
	}
	wake.set(sv.queue.peek().next)
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
// ones stop. HTTP and TCP checks run only where this node owns the
// instance; one that comes to this node starts from its stored status
// and runs at once, one that leaves stops and its run in flight is
// dropped.
func (s *Scheduler) reconcile(id string, snap *store.Snapshot) {
	var keep []*entry
	if in := snap.Instance(id); in != nil {
		owned := s.own == nil || s.own.Owns(in.ID)
		for _, c := range in.Checks {
			if c.Kind == store.KindTTL || owned && (c.Kind == store.KindHTTP || c.Kind == store.KindTCP) {
				keep = append(keep, s.upsert(c, in))
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
	} else {
		s.byInstance[id] = keep
	}
	s.sizePool()
}

// upsert returns the entry of check c of instance in, creating or
// replacing it when c is new, its configuration changed, or it moved to
// another instance, service or address.
func (s *Scheduler) upsert(c *store.Check, in *store.Instance) *entry {
	e := s.entries[c.ID]
	if e != nil && e.instance == in.ID && e.svc.name == in.Name && e.target.address == in.Address &&
		(e.spec == c || sameConfig(e.spec, c)) {
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
	e = s.newEntry(c, in)
	s.entries[c.ID] = e
	if c.Kind == store.KindTTL {
		s.timeTTL(e, c, false)
	} else {
		s.schedule(e, s.cfg.Clock.Now()) // the first run is right away
	}
	return e
}

func (s *Scheduler) newEntry(c *store.Check, in *store.Instance) *entry {
	e := &entry{id: c.ID, instance: in.ID, kind: c.Kind, spec: c, index: -1,
		interval: c.Interval, timeout: c.Timeout, counts: newThresholds(c),
		svc: s.serviceOf(in.Name), target: instanceTarget{address: in.Address, addr: in.Addr}}
	e.svc.checks++
	s.demand += load(e)
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
	s.unschedule(e)
	if s.entries[e.id] == e {
		delete(s.entries, e.id)
	}
	e.svc.checks--
	s.demand -= load(e)
	s.release(e.svc)
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
	s.idle++
	e.running = false
	e.svc.running--
	s.place(e.svc, s.cfg.Clock.Now())
	if e.gone.Load() {
		s.release(e.svc)
		return
	}
	if e.kind == store.KindTTL {
		if c, _ := s.st.Snapshot().Check(e.id); c != nil {
			s.timeTTL(e, c, true)
		}
		return
	}
	s.schedule(e, e.afterRun(e.next, s.cfg.Clock.Now()))
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

// sharer is a store whose checks are shared among several nodes;
// *store.Store is one.
type sharer interface {
	Ownership() *store.Ownership
}

// ownership is the store's current Ownership, nil when the store does
// not share its checks.
func (s *Scheduler) ownership() *store.Ownership {
	if sh, ok := s.st.(sharer); ok {
		return sh.Ownership()
	}
	return nil
}

// ownChanged is closed when the checks this node runs change hands.
func (s *Scheduler) ownChanged() <-chan struct{} {
	if s.own == nil {
		return nil
	}
	return s.own.Changed()
}

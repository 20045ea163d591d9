package health

import (
	"container/heap"
	"syscall"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// service holds the checks of one service's instances. Services are what
// the pool is shared fairly between: when a worker frees up, the service
// with the fewest checks running that has one due goes first, so a
// service whose targets hang (each run holding a worker for its whole
// timeout) cannot keep the workers from another's checks.
type service struct {
	name    string
	queue   queue // its checks waiting for their next run, by planned start
	running int   // its checks running now
	checks  int   // its entries, queued or not
	heap    *svcHeap
	index   int // position in heap
}

// head is the planned start of the service's earliest queued check.
func (sv *service) head() int64 { return sv.queue[0].at }

// svcHeap is a heap of services; each service is on at most one.
type svcHeap struct {
	svcs []*service
	less func(a, b *service) bool
}

func (h *svcHeap) Len() int           { return len(h.svcs) }
func (h *svcHeap) Less(i, j int) bool { return h.less(h.svcs[i], h.svcs[j]) }
func (h *svcHeap) Swap(i, j int) {
	h.svcs[i], h.svcs[j] = h.svcs[j], h.svcs[i]
	h.svcs[i].index, h.svcs[j].index = i, j
}

func (h *svcHeap) Push(x any) {
	sv := x.(*service)
	sv.heap, sv.index = h, len(h.svcs)
	h.svcs = append(h.svcs, sv)
}

func (h *svcHeap) Pop() any {
	old := h.svcs
	sv := old[len(old)-1]
	old[len(old)-1] = nil
	h.svcs = old[:len(old)-1]
	sv.heap, sv.index = nil, -1
	return sv
}

func (h *svcHeap) peek() *service {
	if len(h.svcs) == 0 {
		return nil
	}
	return h.svcs[0]
}

// byHead orders services that have nothing due by when they will.
func byHead(a, b *service) bool { return a.head() < b.head() }

// byShare orders services with a check due: fewest running first, then
// the one whose earliest check has waited longest.
func byShare(a, b *service) bool {
	if a.running != b.running {
		return a.running < b.running
	}
	return a.head() < b.head()
}

// serviceOf returns the service named name, creating it.
func (s *Scheduler) serviceOf(name string) *service {
	sv := s.services[name]
	if sv == nil {
		sv = &service{name: name, index: -1}
		s.services[name] = sv
	}
	return sv
}

// schedule plans e's next run at t.
func (s *Scheduler) schedule(e *entry, t time.Time) {
	e.svc.queue.schedule(e, t)
	s.place(e.svc, s.cfg.Clock.Now())
}

// unschedule takes e off the plan.
func (s *Scheduler) unschedule(e *entry) {
	e.svc.queue.unschedule(e)
	s.place(e.svc, s.cfg.Clock.Now())
}

// place puts sv on the heap it belongs on now: ready when a check of it
// is due, waiting when one will be, neither when none is queued.
func (s *Scheduler) place(sv *service, now time.Time) {
	var want *svcHeap
	if len(sv.queue) > 0 {
		want = &s.waiting
		if sv.head() <= now.UnixNano() {
			want = &s.ready
		}
	}
	if sv.heap == want {
		if want != nil {
			heap.Fix(want, sv.index)
		}
		return
	}
	if sv.heap != nil {
		heap.Remove(sv.heap, sv.index)
	}
	if want != nil {
		heap.Push(want, sv)
	}
}

// release forgets sv once it has no check left and none running.
func (s *Scheduler) release(sv *service) {
	if sv.checks == 0 && sv.running == 0 && s.services[sv.name] == sv {
		delete(s.services, sv.name)
	}
}

// promote moves every service that has a check due by now onto the ready
// heap.
func (s *Scheduler) promote(now time.Time) {
	for sv := s.waiting.peek(); sv != nil && sv.head() <= now.UnixNano(); sv = s.waiting.peek() {
		heap.Pop(&s.waiting)
		heap.Push(&s.ready, sv)
	}
}

// Pool sizing.
const (
	// maxIdleConns bounds the idle connections each of the two HTTP
	// transports keeps; they count against the descriptor budget.
	maxIdleConns = 512
	// minWorkers is the smallest pool the descriptor budget may leave.
	minWorkers = 16
	// maxAutoWorkers bounds an automatically sized pool where the
	// descriptor limit is unlimited or huge: each running check holds a
	// goroutine, and a million of them would be gigabytes of stacks.
	maxAutoWorkers = 1 << 17
)

// load is what a check asks of the pool, in thousandths of a worker: the
// share of its interval one run can hold a worker for, its timeout. A
// check whose target hangs holds exactly that; a healthy one far less.
func load(e *entry) int64 {
	if e.kind != store.KindHTTP && e.kind != store.KindTCP || e.interval <= 0 {
		return 0
	}
	timeout := e.timeout
	if timeout <= 0 {
		timeout = store.DefaultTimeout
	}
	return min(1000, (1000*int64(timeout)+int64(e.interval)-1)/int64(e.interval))
}

// descriptorCap is the largest pool the descriptor limit allows: each
// running check holds a socket, and checks may use half of the process's
// descriptors, less the idle connections the HTTP transports keep. The
// other half is left to API clients, DNS over TCP and the store.
func descriptorCap() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return DefaultWorkers
	}
	return capFor(lim.Cur)
}

func capFor(nofile uint64) int {
	half := min(nofile/2, maxAutoWorkers+2*maxIdleConns)
	return max(int(half)-2*maxIdleConns, minWorkers)
}

// sizePool sets the pool's size for the checks it now has: a fixed
// Config.Workers, or else DefaultWorkers for the healthy work plus what
// the checks need if every target hangs, within the descriptor cap.
func (s *Scheduler) sizePool() {
	if s.cfg.Workers > 0 {
		s.limit = s.cfg.Workers
		return
	}
	need := DefaultWorkers + int((s.demand+999)/1000)
	s.limit = min(need, s.fdCap)
}

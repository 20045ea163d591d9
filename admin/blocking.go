package admin

import (
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// Blocking-query bounds, as Consul's: a wait defaults to 5m, is capped at
// 10m, and gets up to wait/16 of jitter so that many clients that started
// together do not all return together.
const (
	defaultWait = 5 * time.Minute
	maxWait     = 10 * time.Minute
	// writeGrace is the time left to write an answer after a wait ends.
	writeGrace = 30 * time.Second
)

// watchFunc returns the index an answer depends on and a channel that is
// closed when that index may have moved. A nil channel never closes.
type watchFunc func(*store.Snapshot) (uint64, <-chan struct{})

// watchSnapshot follows every change.
func watchSnapshot(s *store.Snapshot) (uint64, <-chan struct{}) { return s.Index(), s.Changed() }

// watchCatalog follows the list of services and their tags only.
func watchCatalog(s *store.Snapshot) (uint64, <-chan struct{}) {
	return s.CatalogIndex(), s.CatalogChanged()
}

// watchService follows one service. A watcher of one service is woken by
// changes to that service only, so a thousand watchers cost nothing while
// other services change. While the service does not exist the whole
// snapshot is followed, so its first registration is seen.
func watchService(name string) watchFunc {
	return func(s *store.Snapshot) (uint64, <-chan struct{}) {
		if svc := s.Service(name); svc != nil {
			return svc.Index, svc.Changed()
		}
		return s.Index(), s.Changed()
	}
}

// block answers Consul's blocking-query protocol. With no ?index (or
// ?hash) it returns the current snapshot at once. Otherwise it parks the
// request, with no goroutine of its own and no polling, until the watched
// index passes q.index (or fresh reports a new hash), the wait ends, or
// the request's context ends. It returns the snapshot to answer from and
// sets X-Consul-Index. A context that ends is answered like a wait that
// ends: when the server shuts down its blocked clients get a valid answer
// at once, and when the client has gone the write is simply lost.
func (a *API) block(w http.ResponseWriter, r *http.Request, q *query, watch watchFunc, fresh func(*store.Snapshot) bool) *store.Snapshot {
	snap := a.st.Snapshot()
	idx, changed := watch(snap)
	ready := func(s *store.Snapshot, idx uint64) bool {
		if q.hashSet && fresh != nil {
			return fresh(s)
		}
		return idx > q.index
	}
	if (q.index == 0 && !q.hashSet) || ready(snap, idx) {
		setIndex(w, idx)
		return snap
	}
	wait := q.wait
	if wait <= 0 {
		wait = defaultWait
	}
	wait = min(wait, maxWait)
	wait += rand.N(wait/16 + 1)
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + writeGrace))
	timer := time.NewTimer(wait)
	defer timer.Stop()
	a.parked.add(1)
	defer a.parked.add(-1)
	for {
		select {
		case <-changed:
			a.wakeups.add(1)
			snap = a.st.Snapshot()
			idx, changed = watch(snap)
			if ready(snap, idx) {
				setIndex(w, idx)
				return snap
			}
		case <-timer.C:
			return a.current(w, watch)
		case <-r.Context().Done():
			return a.current(w, watch)
		}
	}
}

// current returns the latest snapshot and sets its index.
func (a *API) current(w http.ResponseWriter, watch watchFunc) *store.Snapshot {
	snap := a.st.Snapshot()
	idx, _ := watch(snap)
	setIndex(w, idx)
	return snap
}

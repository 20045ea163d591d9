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

// blockIndex answers Consul's index-based blocking query (agent/consul
// rpc.go blockingQuery): with no ?index it answers at once, otherwise
// when the watched index passes ?index or the wait ends. It sets
// X-Consul-Index, and X-Consul-Query-Backend as every catalog and health
// read of Consul does, and returns the snapshot to answer from.
func (a *API) blockIndex(w http.ResponseWriter, r *http.Request, q *query, watch watchFunc) *store.Snapshot {
	w.Header().Set("X-Consul-Query-Backend", "blocking-query")
	snap, idx := a.wait(w, r, q, watch, q.index != 0, func(_ *store.Snapshot, idx uint64) bool { return idx > q.index })
	setIndex(w, idx)
	return snap
}

// blockHash answers the agent's hash-based blocking (agent.go
// LocalBlockingQuery): it waits only when ?hash= is given, until hashOf
// the snapshot differs from it or the wait ends. ?index is no part of it.
func (a *API) blockHash(w http.ResponseWriter, r *http.Request, q *query, watch watchFunc, hashOf func(*store.Snapshot) string) *store.Snapshot {
	snap, _ := a.wait(w, r, q, watch, q.hash != "", func(s *store.Snapshot, _ uint64) bool { return hashOf(s) != q.hash })
	return snap
}

// wait returns the current snapshot at once unless block is set and ready
// does not hold for it. Otherwise it parks the request, with no goroutine
// of its own and no polling, until ready holds for a new snapshot of what
// watch follows, the wait ends, or the request's context ends. It returns
// the snapshot to answer from and its watched index. A context that ends
// is answered like a wait that ends: when the server shuts down its
// blocked clients get a valid answer at once, and when the client has
// gone the write is simply lost.
func (a *API) wait(w http.ResponseWriter, r *http.Request, q *query, watch watchFunc, block bool, ready func(*store.Snapshot, uint64) bool) (*store.Snapshot, uint64) {
	snap := a.st.Snapshot()
	idx, changed := watch(snap)
	if !block || ready(snap, idx) {
		return snap, idx
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
				return snap, idx
			}
		case <-timer.C:
			return a.latest(watch)
		case <-r.Context().Done():
			return a.latest(watch)
		}
	}
}

// latest returns the current snapshot and its watched index.
func (a *API) latest(watch watchFunc) (*store.Snapshot, uint64) {
	snap := a.st.Snapshot()
	idx, _ := watch(snap)
	return snap, idx
}

package store

import (
	"context"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// run loads the registry, then follows etcd's watch; when the watch
// cannot resume (etcd compacted the revisions this node still needs) it
// loads everything again at a new revision, like Kubernetes' reflector.
func (e *etcdStore) run() {
	defer close(e.done)
	log := e.s.opts.Logger
	select {
	case <-e.joined:
	case <-e.ctx.Done():
		return
	}
	if e.refused != nil {
		log.Error("refused to start", "err", e.refused)
		close(e.loaded)
		return
	}
	var rev int64
	relist := true
	wait := 100 * time.Millisecond
	for e.ctx.Err() == nil {
		if relist {
			r, err := e.relist()
			if err != nil {
				if e.ctx.Err() == nil {
					log.Warn("loading the registry from etcd failed; retrying", "etcd", e.endpoints(), "err", oneLine(err), "in", wait)
					sleepCtx(e.ctx, wait)
					wait = min(2*wait, 5*time.Second)
				}
				continue
			}
			rev, relist, wait = r, false, 100*time.Millisecond
			select {
			case <-e.loaded:
			default:
				log.Info("registry loaded from etcd", "etcd", e.endpoints(), "revision", rev, "instances", e.s.Snapshot().InstanceCount())
				close(e.loaded)
			}
		}
		rev, relist = e.watch(rev)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// watch follows the prefix from rev+1 until the watch ends. It returns
// the revision applied and whether a relist is needed.
func (e *etcdStore) watch(rev int64) (int64, bool) {
	log := e.s.opts.Logger
	// Without a leader a member's watch would stay silent forever;
	// requiring one makes it fail, and the client moves on.
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(e.ctx))
	defer cancel()
	wch := e.cli.Watch(wctx, e.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1),
		clientv3.WithPrevKV(), clientv3.WithProgressNotify())
	probe := time.NewTicker(e.opts.ProbeInterval)
	defer probe.Stop()
	// The reap tick also lets a joined member settle (reownLocked).
	reap := time.NewTicker(min(250*time.Millisecond, e.opts.Settle/4))
	defer reap.Stop()
	var asking atomic.Bool
	ask := func() {
		if !asking.CompareAndSwap(false, true) {
			return
		}
		go func() {
			defer asking.Store(false)
			ctx, cancel := context.WithTimeout(wctx, e.opts.ProbeInterval)
			defer cancel()
			_ = e.cli.RequestProgress(ctx)
		}()
	}
	heard := time.Now()
	for {
		select {
		case <-e.ctx.Done():
			return rev, false
		case wr, ok := <-wch:
			if !ok {
				return rev, false
			}
			heard = time.Now()
			e.touch()
			if wr.CompactRevision != 0 {
				log.Warn("etcd compacted revisions this node had not seen; reloading the registry",
					"applied", rev, "compacted", wr.CompactRevision)
				return rev, true
			}
			if err := wr.Err(); err != nil {
				log.Warn("etcd watch ended; resuming", "etcd", e.endpoints(), "revision", rev, "err", oneLine(err))
				sleepCtx(e.ctx, 100*time.Millisecond)
				return rev, false
			}
			if wr.IsProgressNotify() {
				e.advanceTo(rev, wr.Header.Revision)
				continue
			}
			if len(wr.Events) > 0 {
				rev = e.applyEvents(wr.Events)
			}
		case <-probe.C:
			if time.Since(heard) > 2*e.opts.StaleAfter {
				log.Warn("no word from etcd on the watch; reconnecting", "etcd", e.endpoints(), "silent", time.Since(heard).Round(time.Millisecond))
				return rev, false
			}
			ask()
		case <-e.progress:
			ask()
		case <-reap.C:
			e.mu.Lock()
			e.s.reap()
			e.reownLocked(time.Now())
			e.mu.Unlock()
		}
	}
}

// applyEvents publishes one watch response's events, revision by
// revision, as one snapshot. It returns the last revision applied.
func (e *etcdStore) applyEvents(evs []*clientv3.Event) int64 {
	e.mu.Lock()
	t := newTxn(e.s.snap.Load(), e.s.opts.Clock.Now())
	var last int64
	for i := 0; i < len(evs); {
		rev := evs[i].Kv.ModRevision
		cs := newChangeSet()
		for ; i < len(evs) && evs[i].Kv.ModRevision == rev; i++ {
			kv := evs[i].Kv
			kc := &keyChange{value: kv.Value, mod: kv.ModRevision, create: kv.CreateRevision,
				del: evs[i].Type == clientv3.EventTypeDelete}
			cs.add(string(kv.Key[len(e.prefix):]), kc)
		}
		e.applyMembersLocked(cs.members, false)
		t.index = max(t.index, uint64(rev))
		if cs.defMax != 0 {
			t.catalogAt = max(t.catalogAt, t.base.catalog.index, uint64(cs.defMax))
		}
		for id, c := range cs.byID {
			e.applyChange(t, id, c, rev, false)
		}
		for svc := range cs.gone {
			// A removal is visible by itself; this covers a gone key
			// written with nothing this node holds.
			if _, ok := t.services.get(svc); ok {
				t.editService(svc, true)
			}
		}
		last = rev
	}
	e.s.publish(t)
	e.mu.Unlock()
	e.advanceTo(last, last)
	return last
}

package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// maxTxnOps is etcd's default limit on the operations (and on the
// comparisons) of one transaction (--max-txn-ops).
const maxTxnOps = 128

// etcdPlan is one guarded etcd transaction: every key it writes must
// still have the ModRevision the snapshot it was planned on holds.
type etcdPlan struct {
	cmps []clientv3.Cmp
	ops  []clientv3.Op
	// local says a change was left out that only this node needs to
	// know (a TTL heartbeat etcd holds a recent enough one of).
	local bool
}

func (p *etcdPlan) guard(key string, mod int64) {
	p.cmps = append(p.cmps, clientv3.Compare(clientv3.ModRevision(key), "=", mod))
}

// plan turns what a txn changed into one guarded transaction.
func (e *etcdStore) plan(t *txn) (etcdPlan, error) {
	var p etcdPlan
	done := map[string]bool{}
	for _, ev := range t.events {
		if done[ev.ID] {
			continue
		}
		done[ev.ID] = true
		if err := e.planInstance(&p, t.base, t.base.Instance(ev.ID), t.instance(ev.ID)); err != nil {
			return p, err
		}
	}
	if len(p.ops) > maxTxnOps || len(p.cmps) > maxTxnOps {
		return p, invalid("Checks", "the write needs %d etcd operations; at most %d fit in one transaction", max(len(p.ops), len(p.cmps)), maxTxnOps)
	}
	return p, nil
}

// planInstance adds the writes that take one instance from old (as the
// base snapshot holds it) to in. A changed definition rewrites the
// instance key and every status key, so that each check's ModifyIndex
// moves with it as it does on BoltDB; a status change rewrites only its
// own status key; a TTL heartbeat alone goes to the check's beat key.
func (e *etcdStore) planInstance(p *etcdPlan, base *Snapshot, old, in *Instance) error {
	rev := func(k string) keyRev { r, _ := base.revs.get(k); return r }
	switch {
	case in == nil && old == nil:
		return nil
	case in == nil:
		p.guard(e.prefix+defKey(old.ID), rev(defKey(old.ID)).mod)
		p.ops = append(p.ops,
			clientv3.OpDelete(e.prefix+defKey(old.ID)),
			clientv3.OpDelete(e.prefix+statusPrefix(old.ID), clientv3.WithPrefix()),
			clientv3.OpDelete(e.prefix+beatPrefix(old.ID), clientv3.WithPrefix()),
			clientv3.OpPut(e.prefix+goneKey(old.Name), old.ID))
		return nil
	}
	def, err := encodeDef(in)
	if err != nil {
		return fmt.Errorf("encode %q: %w", in.ID, err)
	}
	var oldDef []byte
	if old != nil {
		if oldDef, err = encodeDef(old); err != nil {
			return fmt.Errorf("encode %q: %w", old.ID, err)
		}
	}
	if old == nil || !bytes.Equal(def, oldDef) {
		p.guard(e.prefix+defKey(in.ID), rev(defKey(in.ID)).mod)
		p.ops = append(p.ops, clientv3.OpPut(e.prefix+defKey(in.ID), string(def)))
		for _, c := range in.Checks {
			if err := e.putStatus(p, base, in.ID, c); err != nil {
				return err
			}
		}
		if old == nil {
			return nil
		}
		if old.Name != in.Name {
			p.ops = append(p.ops, clientv3.OpPut(e.prefix+goneKey(old.Name), old.ID))
		}
		for _, c := range old.Checks {
			if findCheck(in, c.ID) != nil {
				continue
			}
			k := statusKey(in.ID, c.ID)
			p.guard(e.prefix+k, rev(k).mod)
			p.ops = append(p.ops, clientv3.OpDelete(e.prefix+k))
			if c.Kind == KindTTL {
				p.ops = append(p.ops, clientv3.OpDelete(e.prefix+beatKey(in.ID, c.ID)))
			}
		}
		return nil
	}
	guarded := false
	for _, c := range in.Checks {
		prev := findCheck(old, c.ID)
		switch {
		case c.Status != prev.Status || c.Output != prev.Output || !c.StatusSince.Equal(prev.StatusSince):
			if err := e.putStatus(p, base, in.ID, c); err != nil {
				return err
			}
		case c.Heartbeat.Equal(prev.Heartbeat):
		case c.Kind != KindTTL || c.Heartbeat.Sub(storedBeat(base, in.ID, c.ID)) < c.TTL/2:
			// The other nodes learn of a TTL report only when etcd's
			// copy of the heartbeat is half a TTL old, so a check
			// reporting steadily through this node costs etcd one write
			// per half TTL rather than one per report.
			p.local = true
		default:
			v, err := encodeBeat(c)
			if err != nil {
				return err
			}
			if !guarded {
				// A heartbeat must not bring back the keys of an
				// instance removed or replaced meanwhile.
				p.guard(e.prefix+defKey(in.ID), rev(defKey(in.ID)).mod)
				guarded = true
			}
			p.ops = append(p.ops, clientv3.OpPut(e.prefix+beatKey(in.ID, c.ID), string(v)))
		}
	}
	return nil
}

// storedBeat is the latest heartbeat of a TTL check that etcd holds.
func storedBeat(snap *Snapshot, id, check string) time.Time {
	s, _ := snap.revs.get(statusKey(id, check))
	b, _ := snap.revs.get(beatKey(id, check))
	if b.beat.After(s.beat) {
		return b.beat
	}
	return s.beat
}

// putStatus writes one check's status key, guarded by the revision this
// node last saw of it (0 when it should not exist yet). This guarded
// compare-and-put is the single place a status reaches etcd.
func (e *etcdStore) putStatus(p *etcdPlan, base *Snapshot, id string, c *Check) error {
	v, err := encodeStatus(c)
	if err != nil {
		return fmt.Errorf("encode status of %q: %w", c.ID, err)
	}
	k := statusKey(id, c.ID)
	r, _ := base.revs.get(k)
	p.guard(e.prefix+k, r.mod)
	p.ops = append(p.ops, clientv3.OpPut(e.prefix+k, string(v)))
	return nil
}

// waitApplied waits until this node's snapshot includes revision rev.
func (e *etcdStore) waitApplied(ctx context.Context, rev int64) error {
	return e.waitRev(ctx, rev, false)
}

// waitSeen waits until this node has seen everything up to rev, asking
// etcd for a progress notification since rev may hold no change of ours.
func (e *etcdStore) waitSeen(ctx context.Context, rev int64) error {
	return e.waitRev(ctx, rev, true)
}

// waiter is a writer waiting for a revision; its channel is closed once
// the snapshot includes it (or, with progress, etcd said nothing up to it
// is left to come).
type waiter struct {
	rev      int64
	progress bool
	ch       chan struct{}
}

func (e *etcdStore) waitRev(ctx context.Context, rev int64, progress bool) error {
	w := &waiter{rev: rev, progress: progress, ch: make(chan struct{})}
	e.revMu.Lock()
	if e.applied >= rev || progress && e.seen >= rev {
		e.revMu.Unlock()
		return nil
	}
	e.waiters = append(e.waiters, w)
	e.revMu.Unlock()
	if progress {
		e.askProgress()
	}
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		e.revMu.Lock()
		e.waiters = slices.DeleteFunc(e.waiters, func(x *waiter) bool { return x == w })
		e.revMu.Unlock()
		if e.ctx.Err() != nil {
			return ErrClosed
		}
		return fmt.Errorf("write committed at etcd revision %d but not seen by this node within %s (etcd at %s): %w",
			rev, e.opts.Timeout, e.endpoints(), ErrUnavailable)
	}
}

// advanceTo records that the snapshot includes applied and that nothing
// up to seen is left to come, and wakes only the writers waiting for
// what that covers.
func (e *etcdStore) advanceTo(applied, seen int64) {
	e.revMu.Lock()
	defer e.revMu.Unlock()
	e.applied = max(e.applied, applied)
	e.seen = max(e.seen, seen, e.applied)
	e.waiters = slices.DeleteFunc(e.waiters, func(w *waiter) bool {
		if e.applied >= w.rev || w.progress && e.seen >= w.rev {
			close(w.ch)
			return true
		}
		return false
	})
}

func (e *etcdStore) appliedRev() int64 {
	e.revMu.Lock()
	defer e.revMu.Unlock()
	return e.applied
}

func (e *etcdStore) askProgress() {
	select {
	case e.progress <- struct{}{}:
	default:
	}
}

package store

import (
	"cmp"
	"context"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// listing is the registry as one Get of every page read it.
type listing struct {
	changes *changeSet
	// rev is the revision read at; maxMod the highest ModRevision
	// under the prefix.
	rev, maxMod int64
}

// list reads every key under the prefix at one revision, a page at a
// time.
func (e *etcdStore) list() (listing, error) {
	l := listing{changes: newChangeSet()}
	end := clientv3.GetPrefixRangeEnd(e.prefix)
	key := e.prefix
	for {
		ctx, cancel := context.WithTimeout(e.ctx, e.opts.Timeout)
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(pageSize)}
		if l.rev != 0 {
			opts = append(opts, clientv3.WithRev(l.rev))
		}
		resp, err := e.cli.Get(ctx, key, opts...)
		cancel()
		if err != nil {
			return l, err
		}
		e.touch()
		if l.rev == 0 {
			l.rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			l.maxMod = max(l.maxMod, kv.ModRevision)
			l.changes.add(string(kv.Key[len(e.prefix):]), &keyChange{value: kv.Value, mod: kv.ModRevision, create: kv.CreateRevision})
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return l, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// relist loads the whole registry and publishes the difference to what
// this node holds, so that readers and subscribers see only what really
// changed while the watch was lost. Changes are applied in the order of
// their revisions, so each service gets the index of its last visible
// change (a removal counted through its gone key), as on a node that
// watched them one by one.
func (e *etcdStore) relist() (int64, error) {
	start := time.Now()
	l, err := e.list()
	if err != nil {
		return 0, err
	}
	e.mu.Lock()
	e.applyMembersLocked(l.changes.members, true)
	snap := e.s.snap.Load()
	t := newTxn(snap, e.s.opts.Clock.Now())
	select {
	case <-e.loaded:
	default:
		t.quiet = true
	}
	// A step applies one instance as listed (id), removes it (gone), or
	// moves a service's index to a removal from it (service).
	type step struct {
		rev         int64
		id, service string
		gone        bool
	}
	var steps []step
	for id, in := range snap.instances.all() {
		if c := l.changes.byID[id]; c == nil || c.def == nil {
			steps = append(steps, step{rev: l.changes.gone[in.Name], id: id, gone: true})
		}
	}
	for id, c := range l.changes.byID {
		if c.def == nil {
			continue
		}
		if e.current(snap, id, c) {
			// Only heartbeats can differ; they change nothing visible.
			e.applyChange(t, id, &change{beat: c.beat}, 0, false)
			continue
		}
		rev := c.def.mod
		for _, kc := range c.status {
			rev = max(rev, kc.mod)
		}
		steps = append(steps, step{rev: rev, id: id})
	}
	for svc, rev := range l.changes.gone {
		if old := snap.Service(svc); old == nil || old.Index < uint64(rev) {
			steps = append(steps, step{rev: rev, service: svc})
		}
	}
	slices.SortFunc(steps, func(a, b step) int { return cmp.Compare(a.rev, b.rev) })
	for _, st := range steps {
		t.index = max(t.index, uint64(st.rev))
		switch {
		case st.service != "":
			if _, ok := t.services.get(st.service); ok || t.owned[st.service] != nil {
				t.editService(st.service, true)
			}
		case st.gone:
			if old := t.instance(st.id); old != nil {
				e.remove(t, old)
			}
		default:
			if old := t.instance(st.id); old != nil {
				for _, ch := range old.Checks {
					t.revs.del(statusKey(st.id, ch.ID))
					t.revs.del(beatKey(st.id, ch.ID))
				}
			}
			e.applyChange(t, st.id, l.changes.byID[st.id], st.rev, true)
		}
	}
	// Every change etcd holds is at or below maxMod, removals included
	// (see goneKey), so a node that listed and one that watched agree.
	t.index = max(t.index, uint64(l.maxMod))
	t.catalogAt = max(snap.catalog.index, uint64(l.changes.defMax))
	e.s.publish(t)
	e.mu.Unlock()
	e.advanceTo(l.rev, l.rev)
	e.s.opts.Logger.Debug("registry listed from etcd", "revision", l.rev, "took", time.Since(start))
	return l.rev, nil
}

// current reports whether this node already holds the definition and
// statuses etcd listed for instance id.
func (e *etcdStore) current(snap *Snapshot, id string, c *change) bool {
	in := snap.Instance(id)
	if in == nil || len(in.Checks) != len(c.status) {
		return false
	}
	if r, ok := snap.revs.get(defKey(id)); !ok || r.mod != c.def.mod {
		return false
	}
	for check, kc := range c.status {
		if r, ok := snap.revs.get(statusKey(id, check)); !ok || r.mod != kc.mod {
			return false
		}
	}
	return true
}

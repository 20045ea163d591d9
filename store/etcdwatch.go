package store

import (
	"cmp"
	"context"
	"slices"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// keyChange is one etcd key as an event or a listing gave it.
type keyChange struct {
	value       []byte
	mod, create int64
	del         bool
}

// change is what happened to one instance's keys at one revision (or, on
// a relist, everything etcd holds of it).
type change struct {
	def    *keyChange
	status map[string]*keyChange // by check ID
	beat   map[string]*keyChange // by check ID
}

// changeSet groups key changes by instance, and notes the removals from
// services (gone keys) and the newest definition change.
type changeSet struct {
	byID   map[string]*change
	gone   map[string]int64 // service → revision of its last removal
	defMax int64            // newest revision of a definition or a removal
}

func newChangeSet() *changeSet {
	return &changeSet{byID: map[string]*change{}, gone: map[string]int64{}}
}

func (cs *changeSet) add(rel string, kc *keyChange) {
	kind, id, check := parseKey(rel)
	switch kind {
	case keyOther:
		return
	case keyGone:
		cs.gone[id] = max(cs.gone[id], kc.mod)
		cs.defMax = max(cs.defMax, kc.mod)
		return
	}
	c := cs.byID[id]
	if c == nil {
		c = &change{}
		cs.byID[id] = c
	}
	switch kind {
	case keyDef:
		c.def = kc
		cs.defMax = max(cs.defMax, kc.mod)
	case keyStatus:
		if c.status == nil {
			c.status = map[string]*keyChange{}
		}
		c.status[check] = kc
	case keyBeat:
		if c.beat == nil {
			c.beat = map[string]*keyChange{}
		}
		c.beat[check] = kc
	}
}

// run loads the registry, then follows etcd's watch; when the watch
// cannot resume (etcd compacted the revisions this node still needs) it
// loads everything again at a new revision, like Kubernetes' reflector.
func (e *etcdStore) run() {
	defer close(e.done)
	log := e.s.opts.Logger
	var rev int64
	relist := true
	wait := 100 * time.Millisecond
	for e.ctx.Err() == nil {
		if relist {
			r, err := e.relist()
			if err != nil {
				if e.ctx.Err() == nil {
					log.Warn("loading the registry from etcd failed; retrying", "etcd", e.endpoints(), "err", oneLine(err.Error()), "in", wait)
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
	snap := e.s.snap.Load()
	t := newTxn(snap, e.s.opts.Now())
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
	reap := time.NewTicker(250 * time.Millisecond)
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
				log.Warn("etcd watch ended; resuming", "etcd", e.endpoints(), "revision", rev, "err", oneLine(err.Error()))
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
			e.mu.Unlock()
		}
	}
}

// applyEvents publishes one watch response's events, revision by
// revision, as one snapshot. It returns the last revision applied.
func (e *etcdStore) applyEvents(evs []*clientv3.Event) int64 {
	e.mu.Lock()
	t := newTxn(e.s.snap.Load(), e.s.opts.Now())
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

// remove drops an instance and the revisions of its keys.
func (e *etcdStore) remove(t *txn, old *Instance) {
	t.revs.del(defKey(old.ID))
	for _, c := range old.Checks {
		t.revs.del(statusKey(old.ID, c.ID))
		t.revs.del(beatKey(old.ID, c.ID))
	}
	t.put(old, nil, false, true)
}

// applyChange applies what etcd says of instance id to t. full says c
// holds everything etcd has of it (a listing): checks without a status
// key are then critical rather than keeping what this node had.
func (e *etcdStore) applyChange(t *txn, id string, c *change, rev int64, full bool) {
	log := e.s.opts.Logger
	old := t.instance(id)
	if c.def != nil && c.def.del {
		if old != nil {
			e.remove(t, old)
		}
		return
	}
	for check, kc := range c.status {
		if kc.del {
			t.revs.del(statusKey(id, check))
		}
	}
	for check, kc := range c.beat {
		if kc.del {
			t.revs.del(beatKey(id, check))
		}
	}
	var in *Instance
	visible := false
	switch {
	case c.def != nil:
		d, err := decodeInstance(c.def.value, t.now)
		if err != nil || d.ID != id {
			log.Error("skipping an unreadable instance in etcd", "key", e.prefix+defKey(id), "revision", c.def.mod, "err", err)
			return
		}
		d.CreateIndex, d.ModifyIndex = uint64(c.def.create), uint64(c.def.mod)
		t.revs.set(defKey(id), keyRev{mod: c.def.mod, create: c.def.create})
		for i, dc := range d.Checks {
			var prev *Check
			if old != nil {
				prev = findCheck(old, dc.ID)
			}
			switch kc := c.status[dc.ID]; {
			case kc != nil && !kc.del:
				d.Checks[i] = e.withStatus(t, id, dc, prev, kc, full)
			case prev != nil && !full:
				nc := *dc
				nc.Status, nc.Output, nc.StatusSince, nc.Heartbeat = prev.Status, prev.Output, prev.StatusSince, prev.Heartbeat
				nc.CreateIndex, nc.ModifyIndex = prev.CreateIndex, prev.ModifyIndex
				d.Checks[i] = &nc
			default:
				dc.StatusSince, dc.CreateIndex, dc.ModifyIndex = t.now, d.CreateIndex, d.ModifyIndex
			}
		}
		in, visible = d, true
	case old == nil:
		return // keys of an instance removed in the same revision
	default:
		cp := *old
		cp.Checks = slices.Clone(old.Checks)
		for check, kc := range c.status {
			i := slices.IndexFunc(cp.Checks, func(c *Check) bool { return c.ID == check })
			if i < 0 || kc.del {
				continue
			}
			// Only a change readers see is written to a status key.
			cp.Checks[i] = e.withStatus(t, id, cp.Checks[i], old.Checks[i], kc, false)
			visible = true
		}
		in = &cp
	}
	beats := e.applyBeats(t, in, c.beat)
	if !visible && !beats {
		return
	}
	if visible {
		t.index = max(t.index, uint64(rev))
	}
	t.put(old, in, false, visible)
}

// applyBeats takes the heartbeats of beat keys into in's TTL checks,
// each only when it is newer than the one in holds. It reports whether
// any was.
func (e *etcdStore) applyBeats(t *txn, in *Instance, beats map[string]*keyChange) bool {
	newer := false
	for check, kc := range beats {
		if kc.del {
			continue
		}
		beat, err := decodeBeat(kc.value)
		if err != nil {
			e.s.opts.Logger.Error("skipping an unreadable heartbeat in etcd", "key", e.prefix+beatKey(in.ID, check), "revision", kc.mod, "err", err)
			continue
		}
		t.revs.set(beatKey(in.ID, check), keyRev{mod: kc.mod, create: kc.create, beat: beat})
		i := slices.IndexFunc(in.Checks, func(c *Check) bool { return c.ID == check })
		if i < 0 || !beat.After(in.Checks[i].Heartbeat) {
			continue
		}
		nc := *in.Checks[i]
		nc.Heartbeat = beat
		in.Checks[i] = &nc
		newer = true
	}
	return newer
}

// withStatus returns def (a check's definition) with the status kc holds
// and the status key's revision as its ModifyIndex. listed says kc comes
// from a listing rather than the watch.
func (e *etcdStore) withStatus(t *txn, id string, def, prev *Check, kc *keyChange, listed bool) *Check {
	r, err := decodeStatus(kc.value)
	if err != nil {
		e.s.opts.Logger.Error("skipping an unreadable check status in etcd", "key", e.prefix+statusKey(id, def.ID), "revision", kc.mod, "err", err)
		return def
	}
	t.revs.set(statusKey(id, def.ID), keyRev{mod: kc.mod, create: kc.create, beat: r.Beat})
	nc := *def
	nc.Status, nc.Output, nc.StatusSince = r.Status, r.Output, r.Since
	nc.CreateIndex, nc.ModifyIndex = uint64(kc.create), uint64(kc.mod)
	// A TTL check's heartbeat is the latest report anyone heard of: the
	// one etcd holds, or one this node took since. A check this node
	// sees for the first time in a listing starts with a full TTL, as
	// on BoltDB after a restart.
	switch {
	case prev != nil && prev.Heartbeat.After(r.Beat):
		nc.Heartbeat = prev.Heartbeat
	case prev == nil && listed && !r.Beat.IsZero():
		nc.Heartbeat = t.now
	case !r.Beat.IsZero():
		nc.Heartbeat = r.Beat
	}
	return &nc
}

package store

import (
	"slices"
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
	// members are the membership keys, by node name.
	members map[string]*keyChange
}

func newChangeSet() *changeSet {
	return &changeSet{byID: map[string]*change{}, gone: map[string]int64{}, members: map[string]*keyChange{}}
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
	case keyMember:
		cs.members[id] = kc
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

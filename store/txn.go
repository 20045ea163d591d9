package store

import (
	"slices"
	"time"
)

// txn is the committer's working copy of the next snapshot. It shares
// everything it does not change with its base, so applying a write costs
// the same however large the registry is.
type txn struct {
	base  *Snapshot
	now   time.Time
	index uint64

	instances cowEdit[*Instance]
	services  cowEdit[*Service]
	checks    cowEdit[*Instance]
	addrs     cowEdit[addrEntry]
	revs      cowEdit[keyRev]

	owned          map[string]*ownedService
	catalogChanged bool
	// catalogAt, when set, is the index the catalog view takes instead
	// of the txn's: on etcd, the revision of the last change to any
	// instance definition, which every node can tell alike.
	catalogAt uint64
	// durable holds IDs of instances to write before answering; lazy
	// those whose change may reach disk up to a second later.
	durable map[string]struct{}
	lazy    map[string]struct{}
	events  []Event
	closers []chan struct{}
	// history holds the health transitions the txn made.
	history []histEntry
	// quiet says the txn loads the registry rather than changes it, so
	// its changes are not logged one by one.
	quiet bool
}

type ownedService struct {
	svc    *Service
	bumped bool
	old    *Service
	// tagsOwned says svc.tagCount is this txn's copy; tagsDirty that it
	// changed, so Tags must be rebuilt.
	tagsOwned bool
	tagsDirty bool
}

func newTxn(base *Snapshot, now time.Time) *txn {
	return &txn{
		base: base, now: now, index: base.index,
		instances: cowEdit[*Instance]{m: base.instances},
		services:  cowEdit[*Service]{m: base.services},
		checks:    cowEdit[*Instance]{m: base.checks},
		addrs:     cowEdit[addrEntry]{m: base.addrs},
		revs:      cowEdit[keyRev]{m: base.revs},
		owned:     map[string]*ownedService{},
		durable:   map[string]struct{}{},
		lazy:      map[string]struct{}{},
	}
}

// bump allocates the next change index.
func (t *txn) bump() uint64 {
	t.index++
	return t.index
}

func (t *txn) instance(id string) *Instance {
	in, _ := t.instances.get(id)
	return in
}

func (t *txn) checkOwner(id string) *Instance {
	in, _ := t.checks.get(id)
	return in
}

// changed reports whether the txn did anything to publish.
func (t *txn) changed() bool { return len(t.events) > 0 }

// put replaces old with in (either may be nil) and keeps every derived
// index in step. bumped says whether the change is visible (it took a new
// index) or only refreshes a heartbeat.
func (t *txn) put(old, in *Instance, durable, bumped bool) {
	id := idOf(old, in)
	if in != nil {
		in.Health = worstOf(in.Checks)
		if tr, ok := transitionOf(old, in, t.now); ok {
			t.history = append(t.history, histEntry{id: id, index: t.index, tr: tr})
		}
		t.instances.set(id, in)
	} else {
		t.instances.del(id)
	}
	t.putChecks(old, in)
	t.putAddr(old, in)
	t.putService(old, in, bumped)
	switch {
	case durable:
		t.durable[id] = struct{}{}
	case bumped:
		t.lazy[id] = struct{}{}
	}
	t.events = append(t.events, Event{Index: t.index, ID: id, Old: old, New: in})
}

func idOf(old, in *Instance) string {
	if in != nil {
		return in.ID
	}
	return old.ID
}

func worstOf(checks []*Check) Status {
	h := Passing
	for _, c := range checks {
		h = h.Worse(c.Status)
	}
	return h
}

func (t *txn) putChecks(old, in *Instance) {
	if old != nil {
		for _, c := range old.Checks {
			if t.checkOwner(c.ID) == old {
				t.checks.del(c.ID)
			}
		}
	}
	if in != nil {
		for _, c := range in.Checks {
			t.checks.set(c.ID, in)
		}
	}
}

// putAddr keeps the reverse index (address → service names) in step. It
// counts instances per service at each address, so a write copies only
// the list of services at one address, however many instances share it.
func (t *txn) putAddr(old, in *Instance) {
	moved := func(a, b *Instance) bool { return b == nil || a.Addr != b.Addr || a.Name != b.Name }
	if old != nil && old.Addr.IsValid() && moved(old, in) {
		t.addrRef(old.Addr.String(), old.Name, -1)
	}
	if in != nil && in.Addr.IsValid() && moved(in, old) {
		t.addrRef(in.Addr.String(), in.Name, +1)
	}
}

func (t *txn) addrRef(addr, name string, delta int) {
	e, _ := t.addrs.get(addr)
	i, found := slices.BinarySearch(e.names, name)
	n := delta
	if found {
		n += e.counts[i]
	}
	next := addrEntry{names: slices.Clone(e.names), counts: slices.Clone(e.counts)}
	switch {
	case n > 0 && found:
		next.counts[i] = n
	case n > 0:
		next.names = slices.Insert(next.names, i, name)
		next.counts = slices.Insert(next.counts, i, n)
	case found:
		next.names = slices.Delete(next.names, i, i+1)
		next.counts = slices.Delete(next.counts, i, i+1)
	}
	if len(next.names) == 0 {
		t.addrs.del(addr)
	} else {
		t.addrs.set(addr, next)
	}
}

func (t *txn) putService(old, in *Instance, bumped bool) {
	if old != nil && (in == nil || in.Name != old.Name) {
		t.editService(old.Name, bumped).remove(old)
	}
	if in != nil {
		t.editService(in.Name, bumped).upsert(in)
	}
}

// editService returns a private copy of the named service, created if
// missing. A visible change gives it the txn's index and a fresh Changed
// channel; the old channel is closed once the snapshot is published.
func (t *txn) editService(name string, bumped bool) *ownedService {
	o := t.owned[name]
	if o == nil {
		old, _ := t.services.get(name)
		svc := &Service{Name: name}
		if old != nil {
			*svc = *old
			svc.Instances = slices.Clone(old.Instances)
		} else {
			svc.done = make(chan struct{})
			t.catalogChanged = true
		}
		o = &ownedService{svc: svc, old: old}
		t.owned[name] = o
	}
	if bumped {
		o.svc.Index = t.index
		if !o.bumped && o.old != nil {
			t.closers = append(t.closers, o.old.done)
			o.svc.done = make(chan struct{})
		}
		o.bumped = true
	}
	return o
}

func (o *ownedService) upsert(in *Instance) {
	s := o.svc
	i, ok := slices.BinarySearchFunc(s.Instances, in.ID, byID)
	if ok {
		o.retag(s.Instances[i].Tags, in.Tags)
		s.counts.add(s.Instances[i], -1)
		s.Instances[i] = in
	} else {
		o.retag(nil, in.Tags)
		s.Instances = slices.Insert(s.Instances, i, in)
	}
	s.counts.add(in, +1)
}

func (o *ownedService) remove(old *Instance) {
	s := o.svc
	if i, ok := slices.BinarySearchFunc(s.Instances, old.ID, byID); ok {
		o.retag(s.Instances[i].Tags, nil)
		s.counts.add(s.Instances[i], -1)
		s.Instances = slices.Delete(s.Instances, i, i+1)
	}
}

// retag keeps the service's tag counts in step when an instance's tags
// go from before to after. Most changes (health above all) keep the tags,
// and then cost nothing here however many instances the service has.
func (o *ownedService) retag(before, after []string) {
	if slices.Equal(before, after) {
		return
	}
	if !o.tagsOwned {
		m := make(map[string]int, len(o.svc.tagCount)+len(after))
		for k, v := range o.svc.tagCount {
			m[k] = v
		}
		o.svc.tagCount, o.tagsOwned = m, true
	}
	for _, tag := range before {
		if o.svc.tagCount[tag]--; o.svc.tagCount[tag] <= 0 {
			delete(o.svc.tagCount, tag)
		}
	}
	for _, tag := range after {
		o.svc.tagCount[tag]++
	}
	o.tagsDirty = true
}

func byID(in *Instance, id string) int { return cmpString(in.ID, id) }

// finishServices stores the edited services, dropping empty ones, and
// notes whether the catalog (service names and tags) changed.
func (t *txn) finishServices() {
	for name, o := range t.owned {
		svc := o.svc
		if len(svc.Instances) == 0 {
			t.services.del(name)
			if o.old != nil {
				t.catalogChanged = true
				if !o.bumped {
					t.closers = append(t.closers, o.old.done)
				}
			}
			continue
		}
		if o.tagsDirty {
			svc.Tags = sortedKeys(svc.tagCount)
			if o.old != nil && !slices.Equal(svc.Tags, o.old.Tags) {
				t.catalogChanged = true
			}
		}
		t.services.set(name, svc)
	}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// snapshot freezes the txn into the next snapshot. It returns the
// channels to close once the snapshot is visible.
func (t *txn) snapshot() (*Snapshot, []chan struct{}) {
	t.finishServices()
	base := t.base
	snap := &Snapshot{
		index: t.index, node: base.node,
		instances: t.instances.freeze(), services: t.services.freeze(),
		checks: t.checks.freeze(), addrs: t.addrs.freeze(), revs: t.revs.freeze(),
		catalog: base.catalog, done: base.done,
	}
	closers := t.closers
	if t.index != base.index {
		snap.done = make(chan struct{})
		closers = append(closers, base.done)
	}
	if t.catalogChanged || t.catalogAt > base.catalog.index {
		idx := t.index
		if t.catalogAt != 0 {
			idx = t.catalogAt
		}
		snap.catalog = &catalogView{index: idx, done: make(chan struct{})}
		closers = append(closers, base.catalog.done)
	}
	return snap, closers
}

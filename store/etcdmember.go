package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Member is a live beacon node sharing a registry in etcd.
type Member struct {
	Name string
	ID   string
	// Address is the node's advertised address; HTTP where its API
	// listens.
	Address string
	HTTP    string `json:",omitempty"`
}

// Members returns the live nodes sharing this registry, by name, as this
// node's watch last saw them; nil with BoltDB, where this node is alone.
func (s *Store) Members() []Member {
	if s.remote == nil {
		return nil
	}
	return slices.Clone(*s.remote.members.Load())
}

// ttlSeconds is the membership lease's TTL in etcd's whole seconds.
func (e *etcdStore) ttlSeconds() int64 {
	return int64((e.opts.NodeTTL + time.Second - 1) / time.Second)
}

// holdMembership keeps this node a member: it takes one lease and the
// node's key under it, keeps the lease alive, and takes both again when
// the lease is lost. A name still held by another lease a TTL after the
// node started refuses it for good (see joined).
func (e *etcdStore) holdMembership() {
	defer e.wg.Done()
	log := e.s.opts.Logger
	first := true
	wait := 100 * time.Millisecond
	// A node restarted after a crash finds its name held by its own
	// dead self until that lease expires: a name still held after a
	// full TTL is another live node's.
	var heldSince time.Time
	for e.ctx.Err() == nil {
		id, err := e.join()
		switch {
		case err != nil && first && errors.Is(err, ErrNodeNameTaken):
			if heldSince.IsZero() {
				heldSince = time.Now()
				log.Info("node name held in etcd; waiting up to -node-ttl for the holder's lease to expire", "node", e.s.opts.NodeName, "node_ttl", e.opts.NodeTTL)
			}
			if time.Since(heldSince) < e.opts.NodeTTL+time.Second {
				sleepCtx(e.ctx, 250*time.Millisecond)
				continue
			}
			e.refused = err
			close(e.joined)
			return
		case err != nil:
			if e.ctx.Err() == nil {
				log.Warn("joining the cluster in etcd failed; retrying", "etcd", e.endpoints(), "err", oneLine(err), "in", wait)
				sleepCtx(e.ctx, wait)
				wait = min(2*wait, e.opts.NodeTTL/2)
			}
			continue
		}
		wait = 100 * time.Millisecond
		if first {
			first = false
			close(e.joined)
		}
		e.keepAlive(id)
		if e.ctx.Err() == nil {
			log.Warn("membership lease lost (etcd did not hear from this node within -node-ttl); joining again",
				"etcd", e.endpoints(), "lease", fmt.Sprintf("%x", int64(id)))
		}
	}
}

// join takes a new lease and this node's key under it, unless a live
// node holds the key.
func (e *etcdStore) join() (clientv3.LeaseID, error) {
	ctx, cancel := context.WithTimeout(e.ctx, e.opts.Timeout)
	defer cancel()
	n := e.s.snap.Load().node
	val, err := json.Marshal(Member{Name: n.Name, ID: n.ID, Address: n.Address, HTTP: e.opts.HTTPAddr})
	if err != nil {
		return 0, err
	}
	g, err := e.cli.Grant(ctx, e.ttlSeconds())
	if err != nil {
		return 0, err
	}
	e.touch()
	key := e.prefix + memberKey(n.Name)
	resp, err := e.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(val), clientv3.WithLease(g.ID))).
		Else(clientv3.OpGet(key)).Commit()
	if err == nil && resp.Succeeded {
		e.renewed.Store(time.Now().UnixNano())
		e.lease.Store(int64(g.ID))
		return g.ID, nil
	}
	_, _ = e.cli.Revoke(ctx, g.ID)
	if err != nil {
		return 0, err
	}
	holder := "unknown"
	if kvs := resp.Responses[0].GetResponseRange().GetKvs(); len(kvs) > 0 {
		var m Member
		if json.Unmarshal(kvs[0].Value, &m) == nil {
			holder = cmp.Or(m.HTTP, m.Address)
		}
	}
	return 0, fmt.Errorf("-node %q is held by a live beacon node (at %s) sharing etcd at %s%s; give each node its own -node: %w",
		n.Name, holder, e.endpoints(), strings.TrimSuffix(e.prefix, "/"), ErrNodeNameTaken)
}

// keepAlive keeps lease id alive until it is lost or the store closes;
// the client renews it every third of its TTL.
func (e *etcdStore) keepAlive(id clientv3.LeaseID) {
	defer e.lease.Store(0)
	ch, err := e.cli.KeepAlive(e.ctx, id)
	if err != nil {
		return
	}
	for range ch {
		e.touch()
		e.renewed.Store(time.Now().UnixNano())
	}
}

// leave ends this node's membership at once, so that the others need
// not wait for its lease to expire.
func (e *etcdStore) leave(id clientv3.LeaseID) {
	if id == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(e.opts.Timeout, time.Second))
	defer cancel()
	_, _ = e.cli.Revoke(ctx, id)
}

// applyMembers takes membership keys into the member set; full says they
// are all etcd holds (a listing). The caller holds mu.
func (e *etcdStore) applyMembersLocked(kcs map[string]*keyChange, full bool) {
	if len(kcs) == 0 && !full {
		return
	}
	live := map[string]Member{}
	if !full {
		for _, m := range *e.members.Load() {
			live[m.Name] = m
		}
	}
	for name, kc := range kcs {
		if kc.del {
			delete(live, name)
			continue
		}
		var m Member
		if err := json.Unmarshal(kc.value, &m); err != nil || m.Name != name {
			e.s.opts.Logger.Error("skipping an unreadable node in etcd", "key", e.prefix+memberKey(name), "revision", kc.mod, "err", err)
			continue
		}
		live[name] = m
	}
	list := make([]Member, 0, len(live))
	for _, m := range live {
		list = append(list, m)
	}
	slices.SortFunc(list, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	e.members.Store(&list)
	now := time.Now()
	for name := range e.since {
		if _, ok := live[name]; !ok {
			delete(e.since, name)
		}
	}
	for name := range live {
		if _, ok := e.since[name]; !ok {
			e.since[name] = now
		}
	}
	e.reownLocked(now)
}

// reownLocked shares the checks among the members that have been live
// for Settle, and publishes a new Ownership when that set changed. The
// watch loop calls it often enough for a join to settle on time. The
// caller holds mu.
func (e *etcdStore) reownLocked(now time.Time) {
	var owners []string
	for _, m := range *e.members.Load() {
		if now.Sub(e.since[m.Name]) >= e.opts.Settle {
			owners = append(owners, m.Name)
		}
	}
	self := e.s.opts.NodeName
	if e.quiet() {
		self = "" // owns nothing, see quiet
	}
	old := e.own.Load()
	if slices.Equal(old.owners, owners) && old.self == self {
		return
	}
	e.own.Store(&Ownership{self: self, owners: owners, changed: make(chan struct{})})
	if self == "" && old.self != "" {
		e.s.opts.Logger.Warn("etcd has not renewed this node's lease for too long; running no checks until it does",
			"etcd", e.endpoints(), "node_ttl", e.opts.NodeTTL)
	}
	close(old.changed)
	e.s.opts.Logger.Info("checks shared among the settled nodes", "nodes", owners)
}

// quiet reports whether this node holds no lease, or etcd has not
// renewed it for three quarters of its TTL: the lease may expire any
// moment (etcd renewed it no later than the answer came), after which
// other nodes run this node's checks, so it stops running and writing
// them first. The client renews every third of the TTL, so one lost
// renewal does not make a node quiet.
func (e *etcdStore) quiet() bool {
	if e.lease.Load() == 0 {
		return true
	}
	return time.Since(time.Unix(0, e.renewed.Load())) > e.opts.NodeTTL*3/4
}

// watchLease makes the node quiet in time when renewals stop, and
// shares checks again once they resume, whatever the watch is doing.
func (e *etcdStore) watchLease() {
	defer e.wg.Done()
	t := time.NewTicker(min(250*time.Millisecond, e.opts.NodeTTL/8))
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
			e.mu.Lock()
			e.reownLocked(time.Now())
			e.mu.Unlock()
		}
	}
}

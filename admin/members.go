package admin

import (
	"github.com/beacon-dns/beacon/store"
)

// memberLister is a store shared by several beacon nodes, which knows
// the live ones; *store.Store is one, and answers nil with BoltDB.
type memberLister interface {
	Members() []store.Member
}

// members returns the live nodes as the store's watch last saw them, or
// nil when this node is the only one (BoltDB), whose answers are then
// exactly this node's.
func (a *API) members() []store.Node {
	ml, ok := a.st.(memberLister)
	if !ok {
		return nil
	}
	ms := ml.Members()
	if ms == nil {
		return nil
	}
	out := make([]store.Node, len(ms))
	for i, m := range ms {
		out[i] = store.Node{Name: m.Name, ID: m.ID, Datacenter: a.cfg.Datacenter, Address: m.Address}
	}
	return out
}

// nodes returns the live nodes, or this node alone.
func (a *API) nodes(snap *store.Snapshot) []store.Node {
	if ns := a.members(); ns != nil {
		return ns
	}
	return []store.Node{snap.Node()}
}

// ownershipSource is a store that shares its instances' checks among
// several nodes; *store.Store is one.
type ownershipSource interface {
	Ownership() *store.Ownership
}

// ownedInstances returns the instances whose checks this node runs, and
// false when it runs every instance's (BoltDB), where the agent
// endpoints answer exactly as before.
func (a *API) ownedInstances(snap *store.Snapshot) ([]*store.Instance, bool) {
	src, ok := a.st.(ownershipSource)
	if !ok || a.members() == nil {
		return nil, false
	}
	own := src.Ownership()
	var out []*store.Instance
	for _, in := range snap.Instances() {
		if own.Owns(in.ID) {
			out = append(out, in)
		}
	}
	return out, true
}

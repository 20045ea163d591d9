package store

import (
	"slices"
)

// Ownership says which instances' HTTP and TCP checks this node runs.
// With BoltDB the one node owns every instance; on etcd each instance
// belongs to one settled live member, chosen by rendezvous hashing
// (highest random weight of the member's name and the instance ID), so a
// member that joins or leaves moves only the instances it must. An
// Ownership never changes; Changed is closed when a new one replaces it.
type Ownership struct {
	self string
	// owners are the settled live members, by name; all says this node
	// owns everything.
	owners  []string
	all     bool
	changed chan struct{}
}

// allOwned is the Ownership of a store that is the only node.
var allOwned = &Ownership{all: true}

// Owns reports whether this node runs the checks of instance id.
func (o *Ownership) Owns(id string) bool {
	return o.all || o.self != "" && o.Owner(id) == o.self
}

// Owner is the member that runs the checks of instance id: this node with
// BoltDB, "" when no member is settled.
func (o *Ownership) Owner(id string) string {
	if o.all {
		return o.self
	}
	var best string
	var bestW uint64
	for _, m := range o.owners {
		if w := weight(m, id); best == "" || w > bestW {
			best, bestW = m, w
		}
	}
	return best
}

// Owners are the members checks are shared among, by name; nil with
// BoltDB.
func (o *Ownership) Owners() []string { return slices.Clone(o.owners) }

// Changed is closed when this node's ownership changed; it never is with
// BoltDB.
func (o *Ownership) Changed() <-chan struct{} { return o.changed }

// weight is the rendezvous weight of member for instance id: FNV-1a of
// both, through the finaliser the digest uses (mix), so that names differing in one
// byte still spread evenly. Every node computes the same.
func weight(member, id string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(member); i++ {
		h = (h ^ uint64(member[i])) * prime
	}
	h = (h ^ 0xff) * prime // a separator no name holds
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * prime
	}
	return mix(h)
}

// Ownership returns which instances' checks this node runs now.
func (s *Store) Ownership() *Ownership {
	if s.remote == nil {
		return allOwned
	}
	return s.remote.own.Load()
}

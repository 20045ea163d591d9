package store

import (
	"net/netip"
	"slices"
	"sync"
)

// Snapshot is an immutable view of the whole registry at one change index.
// The store publishes a new one after every change; readers Load it once
// and use it without locks for as long as they like.
type Snapshot struct {
	index     uint64
	node      Node
	instances cowMap[*Instance]
	services  cowMap[*Service]
	checks    cowMap[*Instance] // check ID → the instance that owns it
	addrs     cowMap[addrEntry] // address → services with instances there
	revs      cowMap[keyRev]    // etcd key → its revisions; empty on BoltDB
	catalog   *catalogView
	done      chan struct{}
}

// addrEntry lists the services at one address, sorted, with how many of
// their instances are there.
type addrEntry struct {
	names  []string
	counts []int
}

// catalogView versions the list of services and their tags, which most
// changes (health above all) leave alone.
type catalogView struct {
	index uint64
	done  chan struct{}

	// list is the sorted service list with tags, built once on first use
	// from the first snapshot that asks: every snapshot sharing this view
	// has the same names and tags.
	once sync.Once
	list []CatalogEntry
}

// CatalogEntry is one service name and the union of its instances' tags.
type CatalogEntry struct {
	Name string
	Tags []string
}

// Service is one service name and its instances, immutable like Snapshot.
type Service struct {
	Name string
	// Index is the change index of the last change to this service.
	Index uint64
	// Instances are sorted by ID.
	Instances []*Instance
	// Tags is the sorted union of the instances' tags.
	Tags []string
	// tagCount counts instances per tag; Tags is its sorted key set.
	tagCount map[string]int
	// counts counts instances by health, kept in step on every write.
	counts ServiceCounts
	done   chan struct{}
}

// Changed is closed when a later snapshot changes this service (or
// removes it); heartbeats that change nothing visible do not close it.
func (s *Service) Changed() <-chan struct{} { return s.done }

// Index is the change index this snapshot reflects; at least 1.
func (s *Snapshot) Index() uint64 { return s.index }

// Node describes this node.
func (s *Snapshot) Node() Node { return s.node }

// Changed is closed when a snapshot with a higher index is published.
func (s *Snapshot) Changed() <-chan struct{} { return s.done }

// CatalogIndex is the index of the last change to the set of services or
// their tags.
func (s *Snapshot) CatalogIndex() uint64 { return s.catalog.index }

// CatalogChanged is closed when the set of services or their tags change.
func (s *Snapshot) CatalogChanged() <-chan struct{} { return s.catalog.done }

// Catalog returns every service name with its tags, sorted by name. It is
// built once per catalog change and shared, so callers must not modify it.
func (s *Snapshot) Catalog() []CatalogEntry {
	s.catalog.once.Do(func() {
		svcs := s.Services()
		list := make([]CatalogEntry, len(svcs))
		for i, svc := range svcs {
			list[i] = CatalogEntry{Name: svc.Name, Tags: svc.Tags}
		}
		s.catalog.list = list
	})
	return s.catalog.list
}

// Service returns the service of that lower-case name, or nil.
func (s *Snapshot) Service(name string) *Service {
	svc, _ := s.services.get(name)
	return svc
}

// Services returns every service, sorted by name.
func (s *Snapshot) Services() []*Service {
	out := make([]*Service, 0, s.services.len())
	for _, svc := range s.services.all() {
		out = append(out, svc)
	}
	slices.SortFunc(out, func(a, b *Service) int { return cmpString(a.Name, b.Name) })
	return out
}

// Instance returns the instance with that ID, or nil.
func (s *Snapshot) Instance(id string) *Instance {
	in, _ := s.instances.get(id)
	return in
}

// Instances returns every instance, sorted by ID.
func (s *Snapshot) Instances() []*Instance {
	out := make([]*Instance, 0, s.instances.len())
	for _, in := range s.instances.all() {
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b *Instance) int { return cmpString(a.ID, b.ID) })
	return out
}

// InstanceCount returns the number of instances.
func (s *Snapshot) InstanceCount() int { return s.instances.len() }

// Check returns the check with that ID and its instance, or nils.
func (s *Snapshot) Check(id string) (*Check, *Instance) {
	in, ok := s.checks.get(id)
	if !ok {
		return nil, nil
	}
	return findCheck(in, id), in
}

// Checks returns every check, sorted by ID.
func (s *Snapshot) Checks() []*Check {
	out := make([]*Check, 0, s.checks.len())
	for id, in := range s.checks.all() {
		out = append(out, findCheck(in, id))
	}
	slices.SortFunc(out, func(a, b *Check) int { return cmpString(a.ID, b.ID) })
	return out
}

// ServicesAt returns the sorted names of the services with an instance
// registered at address a.
func (s *Snapshot) ServicesAt(a netip.Addr) []string {
	e, _ := s.addrs.get(a.String())
	return e.names
}

func findCheck(in *Instance, id string) *Check {
	i, ok := slices.BinarySearchFunc(in.Checks, id, func(c *Check, id string) int { return cmpString(c.ID, id) })
	if !ok {
		return nil
	}
	return in.Checks[i]
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

package dnsserver

import (
	"sync/atomic"

	"github.com/beacon-dns/beacon/store"
)

// tagIndex knows which tags any service carries, so that _<tag> names can
// be told apart from names that do not exist. The set is built once per
// catalog version (which changes with the tags) rather than per query.
type tagIndex struct {
	cur atomic.Pointer[tagSet]
}

// tagSet is the lower-cased tags of every service in one catalog version.
type tagSet struct {
	catalog uint64
	tags    map[string]struct{}
}

// has reports whether some service in snap carries tag, which must be
// lower-case; tags match case-insensitively, as DNS names do.
func (x *tagIndex) has(snap *store.Snapshot, tag string) bool {
	s := x.cur.Load()
	if s == nil || s.catalog != snap.CatalogIndex() {
		s = newTagSet(snap)
		// A query on an older snapshot may finish last; keep the newest.
		if old := x.cur.Load(); old == nil || old.catalog < s.catalog {
			x.cur.Store(s)
		}
	}
	_, ok := s.tags[tag]
	return ok
}

func newTagSet(snap *store.Snapshot) *tagSet {
	s := &tagSet{catalog: snap.CatalogIndex(), tags: map[string]struct{}{}}
	for _, svc := range snap.Services() {
		for _, t := range svc.Tags {
			s.tags[lowerASCII(t)] = struct{}{}
		}
	}
	return s
}

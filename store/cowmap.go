package store

import (
	"hash/maphash"
	"iter"
)

// cowShards is the number of shards of a cowMap. A write copies the shard
// array (8 KiB) and one shard, so its cost stays flat as the registry grows
// to hundreds of thousands of entries.
const cowShards = 1024

var cowSeed = maphash.MakeSeed()

// cowMap is an immutable string-keyed map shared between snapshots. Edits
// go through a cowEdit, which copies what it touches.
type cowMap[V any] struct {
	shards *[cowShards]map[string]V
	n      int
}

func shardOf(k string) int { return int(maphash.String(cowSeed, k) % cowShards) }

// get returns the value at k.
func (m cowMap[V]) get(k string) (V, bool) {
	if m.shards == nil {
		var zero V
		return zero, false
	}
	v, ok := m.shards[shardOf(k)][k]
	return v, ok
}

// len returns the number of entries.
func (m cowMap[V]) len() int { return m.n }

// all yields every entry in no particular order.
func (m cowMap[V]) all() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		if m.shards == nil {
			return
		}
		for _, s := range m.shards {
			for k, v := range s {
				if !yield(k, v) {
					return
				}
			}
		}
	}
}

// cowEdit is a private, mutable copy of a cowMap: it copies the shard
// array once and each shard the first time it changes it.
type cowEdit[V any] struct {
	m     cowMap[V]
	owned [cowShards]bool
	arr   bool
}

func (e *cowEdit[V]) get(k string) (V, bool) { return e.m.get(k) }

func (e *cowEdit[V]) shard(k string) map[string]V {
	if !e.arr {
		var a [cowShards]map[string]V
		if e.m.shards != nil {
			a = *e.m.shards
		}
		e.m.shards = &a
		e.arr = true
	}
	i := shardOf(k)
	if !e.owned[i] {
		old := e.m.shards[i]
		s := make(map[string]V, len(old)+1)
		for k, v := range old {
			s[k] = v
		}
		e.m.shards[i] = s
		e.owned[i] = true
	}
	return e.m.shards[i]
}

func (e *cowEdit[V]) set(k string, v V) {
	s := e.shard(k)
	if _, ok := s[k]; !ok {
		e.m.n++
	}
	s[k] = v
}

func (e *cowEdit[V]) del(k string) {
	if _, ok := e.m.get(k); !ok {
		return
	}
	delete(e.shard(k), k)
	e.m.n--
}

// freeze returns the edited map; the edit must not be used afterwards.
func (e *cowEdit[V]) freeze() cowMap[V] { return e.m }

package store

import (
	"hash/maphash"
	"iter"
)

// A cowMap is a two-level radix of small hash maps: 64 branches of 64
// leaves. A write copies the root (64 pointers), one branch (64 pointers)
// and one leaf, so its cost stays flat as the registry grows: at 100,000
// entries a leaf holds about 25 of them.
const (
	cowRoot   = 64
	cowBranch = 64
)

var cowSeed = maphash.MakeSeed()

type cowBranchArr[V any] [cowBranch]map[string]V

// cowMap is an immutable string-keyed map shared between snapshots. Edits
// go through a cowEdit, which copies what it touches.
type cowMap[V any] struct {
	root *[cowRoot]*cowBranchArr[V]
	n    int
}

func slotOf(k string) (int, int) {
	h := maphash.String(cowSeed, k)
	return int(h % cowRoot), int(h / cowRoot % cowBranch)
}

// get returns the value at k.
func (m cowMap[V]) get(k string) (V, bool) {
	var zero V
	if m.root == nil {
		return zero, false
	}
	i, j := slotOf(k)
	b := m.root[i]
	if b == nil {
		return zero, false
	}
	v, ok := b[j][k]
	return v, ok
}

// len returns the number of entries.
func (m cowMap[V]) len() int { return m.n }

// all yields every entry in no particular order.
func (m cowMap[V]) all() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		if m.root == nil {
			return
		}
		for _, b := range m.root {
			if b == nil {
				continue
			}
			for _, leaf := range b {
				for k, v := range leaf {
					if !yield(k, v) {
						return
					}
				}
			}
		}
	}
}

// cowEdit is a private, mutable copy of a cowMap: it copies the root once
// and each branch and leaf the first time it changes them.
type cowEdit[V any] struct {
	m        cowMap[V]
	rootOwn  bool
	branches [cowRoot]bool
	leaves   map[int]bool
}

func (e *cowEdit[V]) get(k string) (V, bool) { return e.m.get(k) }

func (e *cowEdit[V]) leaf(k string) map[string]V {
	if !e.rootOwn {
		var r [cowRoot]*cowBranchArr[V]
		if e.m.root != nil {
			r = *e.m.root
		}
		e.m.root, e.rootOwn = &r, true
	}
	i, j := slotOf(k)
	if !e.branches[i] {
		var b cowBranchArr[V]
		if old := e.m.root[i]; old != nil {
			b = *old
		}
		e.m.root[i], e.branches[i] = &b, true
	}
	if e.leaves == nil {
		e.leaves = map[int]bool{}
	}
	if id := i*cowBranch + j; !e.leaves[id] {
		old := e.m.root[i][j]
		l := make(map[string]V, len(old)+1)
		for k, v := range old {
			l[k] = v
		}
		e.m.root[i][j], e.leaves[id] = l, true
	}
	return e.m.root[i][j]
}

func (e *cowEdit[V]) set(k string, v V) {
	l := e.leaf(k)
	if _, ok := l[k]; !ok {
		e.m.n++
	}
	l[k] = v
}

func (e *cowEdit[V]) del(k string) {
	if _, ok := e.m.get(k); !ok {
		return
	}
	delete(e.leaf(k), k)
	e.m.n--
}

// freeze returns the edited map; the edit must not be used afterwards.
func (e *cowEdit[V]) freeze() cowMap[V] { return e.m }

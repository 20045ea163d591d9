package dnsserver

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/miekg/dns"
)

// stackShuffle is the answer count up to which a shuffle needs no heap.
const stackShuffle = 64

// permute fills perm (len n) with a random order of 0..n-1. With weights
// (len n) it is weighted random sampling without replacement
// (Efraimidis and Spirakis, 2006): index i draws the key -ln(U)/w_i and
// indices go in ascending key order, so the first is i with probability
// w_i/Σw, and so on down the list. Weight 0 sorts last. Without weights
// it is a Fisher-Yates shuffle. math/rand/v2's global source is per-thread
// and lock-free, so concurrent queries do not contend.
func permute(perm []int, weights []uint32) {
	for i := range perm {
		perm[i] = i
	}
	if weights == nil || uniform(weights) {
		for i := len(perm) - 1; i > 0; i-- {
			j := rand.IntN(i + 1)
			perm[i], perm[j] = perm[j], perm[i]
		}
		return
	}
	var stack [stackShuffle]float64
	keys := stack[:0]
	if len(perm) > stackShuffle {
		keys = make([]float64, 0, len(perm))
	}
	for _, w := range weights {
		k := math.Inf(1)
		if w > 0 {
			// 1-Float64() is in (0,1], so the log is finite.
			k = -math.Log(1-rand.Float64()) / float64(w)
		}
		keys = append(keys, k)
	}
	if len(perm) > stackShuffle {
		slices.SortFunc(perm, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
		return
	}
	// Insertion sort: short answers need no closure and no heap.
	for i := 1; i < len(perm); i++ {
		for j := i; j > 0 && keys[perm[j]] < keys[perm[j-1]]; j-- {
			perm[j], perm[j-1] = perm[j-1], perm[j]
		}
	}
}

func uniform(w []uint32) bool {
	for _, x := range w {
		if x != w[0] {
			return false
		}
	}
	return true
}

// shuffleRRs reorders rrs, and weights with them, in place.
func shuffleRRs(rrs []dns.RR, weights []uint32) {
	if len(rrs) < 2 {
		return
	}
	perm := make([]int, len(rrs))
	permute(perm, weights)
	out := make([]dns.RR, len(rrs))
	var ws []uint32
	if weights != nil {
		ws = make([]uint32, len(weights))
	}
	for i, p := range perm {
		out[i] = rrs[p]
		if ws != nil {
			ws[i] = weights[p]
		}
	}
	copy(rrs, out)
	copy(weights, ws)
}

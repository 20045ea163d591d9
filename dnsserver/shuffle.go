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
// (len n) it is weighted random sampling without replacement: the first
// is i with probability w_i/Σw, the next is drawn the same way from the
// rest, and so on; weight 0 goes last. Without weights it is a
// Fisher-Yates shuffle. math/rand/v2's global source is per-thread and
// lock-free, so concurrent queries do not contend.
func permute(perm []int, weights []uint32) {
	for i := range perm {
		perm[i] = i
	}
	switch {
	case weights == nil || uniform(weights):
		for i := len(perm) - 1; i > 0; i-- {
			j := rand.IntN(i + 1)
			perm[i], perm[j] = perm[j], perm[i]
		}
	case len(perm) <= stackShuffle:
		drawWeighted(perm, weights)
	default:
		keyWeighted(perm, weights)
	}
}

// drawWeighted draws one index at a time in proportion to its weight:
// O(n²), but with no floating point, the cheapest for short answers.
func drawWeighted(perm []int, weights []uint32) {
	var total uint64
	for _, w := range weights {
		total += uint64(w)
	}
	for i := 0; i < len(perm) && total > 0; i++ {
		r := rand.Uint64N(total)
		for j := i; j < len(perm); j++ {
			w := uint64(weights[perm[j]])
			if r < w {
				perm[i], perm[j] = perm[j], perm[i]
				total -= w
				break
			}
			r -= w
		}
	}
}

// keyWeighted gives the same distribution in O(n log n) for long answers
// (Efraimidis and Spirakis, 2006): index i draws the key -ln(U)/w_i, and
// indices go in ascending key order.
func keyWeighted(perm []int, weights []uint32) {
	keys := make([]float64, len(weights))
	for i, w := range weights {
		keys[i] = math.Inf(1)
		if w > 0 {
			// 1-Float64() is in (0,1], so the log is finite.
			keys[i] = -math.Log(1-rand.Float64()) / float64(w)
		}
	}
	slices.SortStableFunc(perm, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
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

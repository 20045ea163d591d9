package main

import (
	"math/bits"
	"time"
)

// histSub is the number of buckets per power of two: each bucket is at
// most 1/histSub of its value wide, so quantiles are within ~3%.
const histSub = 32

// latencyHist counts durations in log-linear buckets, in bounded memory
// whatever the number of samples. It is not safe for concurrent use; each
// DNS worker keeps its own and they are merged at the end.
type latencyHist struct {
	counts [64 * histSub]uint64
	n      uint64
	max    time.Duration
}

// bucket maps ns to its bucket: exact below histSub, then histSub
// buckets per power of two.
func bucket(ns uint64) int {
	if ns < histSub {
		return int(ns)
	}
	shift := bits.Len64(ns) - 6 // ns>>shift is in [32, 64)
	return (shift+1)*histSub + int(ns>>shift) - histSub
}

// bucketTop is the largest value bucket i holds.
func bucketTop(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	shift := i/histSub - 1
	return (uint64(i%histSub+histSub+1) << shift) - 1
}

func (h *latencyHist) observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucket(uint64(d))]++
	h.n++
	h.max = max(h.max, d)
}

func (h *latencyHist) merge(o *latencyHist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile is an upper bound on the q-quantile (0 < q ≤ 1); 0 when empty.
func (h *latencyHist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return min(time.Duration(bucketTop(i)), h.max)
		}
	}
	return h.max
}

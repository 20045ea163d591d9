package dnsserver

import (
	"math/bits"
	"math/rand/v2"
	"sync"
)

// sampler draws the records of a large answer one at a time in the order
// permute gives: weighted random sampling without replacement, weight 0
// last, uniform without weights. Drawing the first k of n costs O(k)
// expected, not O(n), so a reply that holds 30 of 50,000 records looks
// at about 30.
//
// Records are grouped in buckets by the highest bit of their weight. A
// draw picks a bucket in proportion to the weight it has left, then a
// member uniformly, and keeps it with probability weight/max of the
// bucket, which is at least 1/2; a member already drawn is drawn again.
// So each record still left is drawn with probability proportional to
// its weight, exactly, and a draw takes at most about 2·size/left tries
// in its bucket: few, since a reply takes far fewer records than a large
// bucket holds, and a small bucket is small.
type sampler struct {
	n       int
	weights []uint32 // nil: every weight 1
	// members lists record indices bucket by bucket: bucket b (0 for
	// weight 0, else bits.Len32 of the weight) holds
	// members[start[b]:start[b+1]]. It is nil when there is one bucket,
	// which holds every record in order.
	members []int32
	start   [buckets + 1]int32
	mass    [buckets]uint64 // total weight per bucket
	max     [buckets]uint32 // largest weight per bucket
	even    [buckets]bool   // every member of the bucket has the same weight
	// only is the one bucket of positive weights when there is one (as
	// without weights), else 0.
	only int
	// scratch holds drawState values for reuse.
	scratch sync.Pool
}

const buckets = 33

func newSampler(n int, weights []uint32) *sampler {
	s := &sampler{n: n, weights: weights}
	if weights != nil && uniform(weights) {
		s.weights = nil
	}
	var count [buckets]int32
	for i := range n {
		b := s.bucket(i)
		count[b]++
		w := s.weight(i)
		s.mass[b] += uint64(w)
		if count[b] == 1 {
			s.max[b], s.even[b] = w, true
		} else if w != s.max[b] {
			s.even[b] = false
			s.max[b] = max(s.max[b], w)
		}
	}
	for b := range buckets {
		s.start[b+1] = s.start[b] + count[b]
		if b > 0 && count[b] > 0 {
			if s.only == 0 {
				s.only = b
			} else {
				s.only = -1
			}
		}
	}
	s.only = max(s.only, 0)
	if s.only > 0 && count[0] == 0 {
		s.scratch.New = func() any { return &drawState{chosen: make([]uint64, (n+63)/64)} }
		return s
	}
	s.members = make([]int32, n)
	next := s.start
	for i := range n {
		b := s.bucket(i)
		s.members[next[b]] = int32(i)
		next[b]++
	}
	s.scratch.New = func() any { return &drawState{chosen: make([]uint64, (n+63)/64)} }
	return s
}

func (s *sampler) weight(i int) uint32 {
	if s.weights == nil {
		return 1
	}
	return s.weights[i]
}

func (s *sampler) bucket(i int) int { return bits.Len32(s.weight(i)) }

// drawState is one reply's draw: what was drawn and what weight is left,
// and for the reply being written where each record went and which glue
// it holds.
type drawState struct {
	s      *sampler
	chosen []uint64 // bit i: record i was drawn
	drawn  []int32
	mass   [buckets]uint64
	left   [buckets]int32
	total  uint64 // weight left in buckets 1 and up
	rng    uint64 // wyrand state, seeded per draw

	at        []int32  // offsets of the records written, in drawn order
	count     int      // records written without an offset noted
	glued     []uint64 // bit i: the glue of record i was written
	gluedList []int32
}

// begin starts a draw; end must follow.
func (s *sampler) begin() *drawState {
	d := s.scratch.Get().(*drawState)
	d.s = s
	d.rng = rand.Uint64()
	d.mass = s.mass
	d.total = 0
	for b := range buckets {
		d.left[b] = s.start[b+1] - s.start[b]
		if b > 0 {
			d.total += s.mass[b]
		}
	}
	return d
}

// end clears the draw's marks and returns its state for reuse.
func (d *drawState) end() {
	for _, i := range d.drawn {
		d.chosen[i>>6] = 0
	}
	for _, i := range d.gluedList {
		d.glued[i>>6] = 0
	}
	d.drawn, d.at, d.gluedList, d.count = d.drawn[:0], d.at[:0], d.gluedList[:0], 0
	d.s.scratch.Put(d)
}

// next returns the next record in the shuffled order, or -1 when every
// record was drawn.
func (d *drawState) next() int {
	s := d.s
	b := 0
	switch {
	case d.total > 0 && s.only > 0:
		b = s.only
	case d.total > 0:
		r := d.uint64n(d.total)
		for b = 1; r >= d.mass[b]; b++ {
			r -= d.mass[b]
		}
	case d.left[0] == 0:
		return -1
	}
	lo, size := uint64(s.start[b]), uint64(s.start[b+1]-s.start[b])
	for {
		i := int(lo + d.uint64n(size))
		if s.members != nil {
			i = int(s.members[i])
		}
		if d.chosen[i>>6]&(1<<(i&63)) != 0 {
			continue
		}
		w := s.weight(i)
		if !s.even[b] && d.uint64n(uint64(s.max[b])) >= uint64(w) {
			continue
		}
		d.chosen[i>>6] |= 1 << (i & 63)
		d.drawn = append(d.drawn, int32(i))
		d.mass[b] -= uint64(w)
		if b > 0 {
			d.total -= uint64(w)
		}
		d.left[b]--
		return i
	}
}

// nextUniform is next for a sampler without weights, short enough to be
// inlined in the loops that draw hundreds of records per reply. Some
// record must be left to draw.
func (d *drawState) nextUniform() int {
	for {
		i := int(d.uint64n(uint64(d.s.n)))
		if d.chosen[i>>6]&(1<<(i&63)) == 0 {
			d.chosen[i>>6] |= 1 << (i & 63)
			d.drawn = append(d.drawn, int32(i))
			return i
		}
	}
}

// uint64n returns a random number in [0, n): wyrand, seeded per draw
// from math/rand/v2, costs a fraction of a call to math/rand/v2 for
// each of the hundreds of numbers a large reply takes, and n·2⁻⁶⁴ of
// bias is far below any weight's effect.
func (d *drawState) uint64n(n uint64) uint64 {
	d.rng += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(d.rng, d.rng^0xe7037ed1a0b428db)
	hi, _ = bits.Mul64(hi^lo, n)
	return hi
}

package dnsserver

import (
	"math/rand/v2"
	"testing"
)

// TestSamplerOrder draws every record of samplers of many sizes and
// weights: each comes exactly once, weight 0 after every other, and -1
// after the last.
func TestSamplerOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 3, 64, 65, 130, 1000} {
		for _, kind := range []string{"none", "uniform", "mixed", "zeros"} {
			var w []uint32
			switch kind {
			case "uniform":
				w = make([]uint32, n)
				for i := range w {
					w[i] = 7
				}
			case "mixed":
				for range n {
					w = append(w, uint32(rng.IntN(70000)))
				}
			case "zeros":
				for i := range n {
					w = append(w, uint32(i%3))
				}
			}
			s := newSampler(n, w)
			for round := range 3 {
				d := s.begin()
				seen := make([]bool, n)
				zero := false
				for range n {
					i := d.next()
					if i < 0 || i >= n || seen[i] {
						t.Fatalf("n=%d %s round %d: drew %d (seen %v)", n, kind, round, i, i >= 0 && i < n && seen[i])
					}
					seen[i] = true
					if w != nil && w[i] == 0 {
						zero = true
					} else if zero {
						t.Fatalf("n=%d %s: weight %d drawn after a weight 0", n, kind, w[i])
					}
				}
				if i := d.next(); i != -1 {
					t.Fatalf("n=%d %s: drew %d after all", n, kind, i)
				}
				d.end()
			}
			if s.weights != nil {
				continue
			}
			// Without weights, the inlined draw too, which needs a
			// record left.
			d := s.begin()
			seen := make([]bool, n)
			for range n - 1 {
				if i := d.nextUniform(); seen[i] {
					t.Fatalf("n=%d %s: nextUniform drew %d twice", n, kind, i)
				} else {
					seen[i] = true
				}
			}
			d.end()
		}
	}
}

// TestSamplerDistribution checks the first two draws against the exact
// chances of weighted sampling without replacement, with weights in
// several buckets (and so kept with different probabilities).
func TestSamplerDistribution(t *testing.T) {
	w := []uint32{1, 2, 3, 0, 5, 8, 13}
	var total float64
	for _, x := range w {
		total += float64(x)
	}
	s := newSampler(len(w), w)
	const n = 40000
	first := make([]int, len(w))
	second := make([]int, len(w))
	for range n {
		d := s.begin()
		first[d.next()]++
		second[d.next()]++
		d.end()
	}
	for j, wj := range w {
		p1 := float64(wj) / total
		p2 := 0.0
		for i, wi := range w {
			if i != j && wi > 0 {
				p2 += float64(wi) / total * float64(wj) / (total - float64(wi))
			}
		}
		if got := float64(first[j]) / n; got < p1-0.01 || got > p1+0.01 {
			t.Errorf("weight %d first %.4f of the time, want %.4f", wj, got, p1)
		}
		if got := float64(second[j]) / n; got < p2-0.01 || got > p2+0.01 {
			t.Errorf("weight %d second %.4f of the time, want %.4f", wj, got, p2)
		}
	}
}

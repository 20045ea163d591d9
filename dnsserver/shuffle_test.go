package dnsserver

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/beacon-dns/beacon/store"
)

// TestShuffleFromCache checks that cache hits reorder the answers, keep
// every record and keep the glue's names intact.
func TestShuffleFromCache(t *testing.T) {
	f := newFixture(t, nil)
	seed(t, f)
	serial := uint32(f.st.Snapshot().Index())
	var srv Case
	for _, c := range zoneCases(serial) {
		if c.Qname == "web.service.local." && c.Qtype == dns.TypeSRV {
			srv = c
		}
	}
	first := map[string]int{}
	for i := range 300 {
		q := srv.Msg()
		if i%2 == 1 {
			q.Question[0].Name = "WEB.service.LOCAL."
		}
		r := serveDirect(t, f.srv.h, q, false)
		srv.check(t, q, r)
		if t.Failed() {
			t.Fatalf("query %d: %v", i, r)
		}
		first[r.Answer[0].(*dns.SRV).Target]++
	}
	if len(first) != 3 {
		t.Errorf("first SRV targets over 300 replies: %v; want all three", first)
	}
	if hits := testutil.ToFloat64(f.srv.h.met.hits); hits != 299 {
		t.Errorf("hits %v, want 299", hits)
	}
}

// TestWeightedA checks that A answers put an address first in proportion
// to its weight, on hits as on misses.
func TestWeightedA(t *testing.T) {
	f := newFixture(t, nil)
	f.register(t, store.Registration{ID: "a", Name: "lb", Address: "10.0.0.1", Port: 1, Weights: &store.Weights{Passing: 1, Warning: 1}})
	f.register(t, store.Registration{ID: "b", Name: "lb", Address: "10.0.0.2", Port: 1, Weights: &store.Weights{Passing: 9, Warning: 1}})
	const n = 4000
	heavy := 0
	for range n {
		r := serveDirect(t, f.srv.h, new(dns.Msg).SetQuestion("lb.service.local.", dns.TypeA), false)
		if len(r.Answer) != 2 {
			t.Fatalf("answers %v", r.Answer)
		}
		if r.Answer[0].(*dns.A).A.String() == "10.0.0.2" {
			heavy++
		}
	}
	// Expect 90%; 4000 draws put 3σ at about ±1.5%.
	if share := float64(heavy) / n; share < 0.86 || share > 0.94 {
		t.Errorf("weight 9 of 10 came first in %.1f%% of answers, want about 90%%", share*100)
	}
}

// TestPermuteDistribution checks both weighted algorithms against the
// exact chance of each index coming first.
func TestPermuteDistribution(t *testing.T) {
	weights := []uint32{1, 2, 0, 5}
	for _, algo := range []struct {
		name string
		f    func([]int, []uint32)
	}{{"draw", drawWeighted}, {"key", keyWeighted}} {
		const n = 16000
		first := make([]int, len(weights))
		for range n {
			perm := []int{0, 1, 2, 3}
			algo.f(perm, weights)
			first[perm[0]]++
			if weights[perm[3]] != 0 {
				t.Fatalf("%s: weight 0 not last: %v", algo.name, perm)
			}
		}
		for i, w := range weights {
			want := float64(w) / 8
			if got := float64(first[i]) / n; got < want-0.02 || got > want+0.02 {
				t.Errorf("%s: index %d (weight %d) first %.3f of the time, want %.3f", algo.name, i, w, got, want)
			}
		}
	}
}

// TestShuffleLarge covers answers longer than the stack buffers, served
// from the cache over TCP.
func TestShuffleLarge(t *testing.T) {
	f := newFixture(t, nil)
	seedBig(t, f, 100)
	firsts := map[string]bool{}
	for _, qt := range []uint16{dns.TypeA, dns.TypeSRV} {
		for range 20 {
			r := serveDirect(t, f.srv.h, new(dns.Msg).SetQuestion("big.service.local.", qt), true)
			if len(r.Answer) != 100 {
				t.Fatalf("%d answers", len(r.Answer))
			}
			seen := map[string]bool{}
			for _, rr := range r.Answer {
				seen[rr.String()] = true
			}
			glue := map[string]bool{}
			for _, rr := range r.Extra {
				glue[rr.Header().Name] = true
			}
			if len(seen) != 100 {
				t.Fatalf("%d distinct answers", len(seen))
			}
			if qt == dns.TypeSRV {
				for _, rr := range r.Answer {
					if !glue[rr.(*dns.SRV).Target] {
						t.Fatalf("SRV target %s has no glue among %d extra", rr.(*dns.SRV).Target, len(r.Extra))
					}
				}
			}
			firsts[r.Answer[0].String()] = true
		}
	}
	if len(firsts) < 10 {
		t.Errorf("only %d distinct first records in 40 answers", len(firsts))
	}
}

func TestPermute(t *testing.T) {
	for _, n := range []int{1, 2, 5, 64, 65, 200} {
		for _, weighted := range []bool{false, true} {
			var w []uint32
			if weighted {
				for i := range n {
					w = append(w, uint32(i%3))
				}
			}
			perm := make([]int, n)
			permute(perm, w)
			seen := make([]bool, n)
			for _, p := range perm {
				if seen[p] {
					t.Fatalf("n=%d weighted=%v: %v is not a permutation", n, weighted, perm)
				}
				seen[p] = true
			}
			if weighted {
				// Weight 0 sorts last.
				zeros := (n + 2) / 3
				for i, p := range perm {
					if (w[p] == 0) != (i >= n-zeros) {
						t.Fatalf("n=%d: weight-0 entries not last: %v", n, perm)
					}
				}
			}
		}
	}
}

func TestLayoutRejectsUnsafe(t *testing.T) {
	// PTR answers compress against each other: not movable.
	m := new(dns.Msg).SetQuestion("5.0.0.10.in-addr.arpa.", dns.TypePTR)
	m.Response, m.Compress = true, true
	for _, n := range []string{"a.service.local.", "b.service.local."} {
		rr, _ := dns.NewRR(fmt.Sprintf("5.0.0.10.in-addr.arpa. 30 IN PTR %s", n))
		m.Answer = append(m.Answer, rr)
	}
	wire, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := newEntry(key{}, m.Question[0].Name, wire, &meta{shuffle: true}); ok {
		t.Errorf("PTR answers accepted as movable")
	}
}

package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestCowMapMatchesMap applies random edits in rounds, checking after each
// round that the new version equals a plain map and every older version is
// unchanged.
func TestCowMapMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var versions []cowMap[int]
	var models []map[string]int
	cur, model := cowMap[int]{}, map[string]int{}
	for round := 0; round < 50; round++ {
		e := &cowEdit[int]{m: cur}
		for i := 0; i < 200; i++ {
			k := fmt.Sprint(r.IntN(3000))
			if r.IntN(3) == 0 {
				e.del(k)
				delete(model, k)
			} else {
				e.set(k, i)
				model[k] = i
			}
		}
		cur = e.freeze()
		snapshot := make(map[string]int, len(model))
		for k, v := range model {
			snapshot[k] = v
		}
		versions, models = append(versions, cur), append(models, snapshot)
	}
	for i, m := range versions {
		want := models[i]
		if m.len() != len(want) {
			t.Fatalf("version %d: len %d, want %d", i, m.len(), len(want))
		}
		n := 0
		for k, v := range m.all() {
			n++
			if want[k] != v {
				t.Fatalf("version %d: %s = %d, want %d", i, k, v, want[k])
			}
		}
		for k, v := range want {
			if got, ok := m.get(k); !ok || got != v {
				t.Fatalf("version %d: get(%s) = %d, %v; want %d", i, k, got, ok, v)
			}
		}
		if n != len(want) {
			t.Fatalf("version %d: all yielded %d entries, want %d", i, n, len(want))
		}
	}
}

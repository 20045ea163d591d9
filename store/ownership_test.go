package store

import (
	"fmt"
	"testing"
)

// TestRendezvousMovesOnlyWhatItMust: a member that leaves hands over only
// its own instances, each owner gets a fair share, and BoltDB owns all.
func TestRendezvousMovesOnlyWhatItMust(t *testing.T) {
	three := &Ownership{self: "b1", owners: []string{"b1", "b2", "b3"}}
	two := &Ownership{self: "b1", owners: []string{"b1", "b2"}}
	const n = 3000
	share := map[string]int{}
	moved := 0
	for i := range n {
		id := fmt.Sprintf("web-%d", i)
		before, after := three.Owner(id), two.Owner(id)
		share[before]++
		if before != "b3" && before != after {
			t.Fatalf("%s moved from %s to %s though %s stayed", id, before, after, before)
		}
		if before == "b3" {
			moved++
		}
		if three.Owns(id) != (before == "b1") {
			t.Fatalf("%s: Owns disagrees with Owner %s", id, before)
		}
	}
	for _, m := range three.owners {
		if share[m] < n/3*8/10 || share[m] > n/3*12/10 {
			t.Errorf("%s owns %d of %d instances, want about a third", m, share[m], n)
		}
	}
	if moved != share["b3"] {
		t.Errorf("%d moved, want the %d of the member that left", moved, share["b3"])
	}
	if !allOwned.Owns("anything") || allOwned.Changed() != nil {
		t.Error("a store alone must own everything, for good")
	}
	if (&Ownership{self: "b1"}).Owns("x") {
		t.Error("with no settled member, nobody owns anything")
	}
}

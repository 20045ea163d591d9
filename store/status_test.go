package store

import "testing"

func TestStatusRank(t *testing.T) {
	cases := []struct {
		a, b  Status
		worse Status
	}{
		{Passing, Passing, Passing},
		{Passing, Warning, Warning},
		{Warning, Passing, Warning},
		{Warning, Critical, Critical},
		{Critical, Passing, Critical},
		{"", Warning, ""},
		{Passing, "maintenance", "maintenance"},
	}
	for _, c := range cases {
		if got := c.a.Worse(c.b); got != c.worse {
			t.Errorf("%q.Worse(%q) = %q, want %q", c.a, c.b, got, c.worse)
		}
	}
	if Passing.Rank() >= Warning.Rank() || Warning.Rank() >= Critical.Rank() || Status("bogus").Rank() != Critical.Rank() {
		t.Errorf("ranks passing %d, warning %d, critical %d, unknown %d", Passing.Rank(), Warning.Rank(), Critical.Rank(), Status("bogus").Rank())
	}
}

package health

import (
	"strings"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
	"github.com/beacon-dns/beacon/store"
)

// TestTTLExpiresWithoutReports: reports every third of the TTL keep a TTL
// check passing; without them it turns critical once the TTL passes. The
// store and the scheduler share a fake clock, so the TTL passes only when
// the test moves it.
func TestTTLExpiresWithoutReports(t *testing.T) {
	clk := testkit.NewClock()
	st := openStore(t, t.TempDir(), clk.Now)
	start(t, st, Config{Clock: clk})
	const ttl = 3 * time.Second
	register(t, st, "job-1", store.CheckSpec{TTL: ttl, Status: store.Passing})
	id := "service:job-1"

	for i := 0; i < 8; i++ {
		if err := st.UpdateTTL(id, store.Passing, "alive"); err != nil {
			t.Fatal(err)
		}
		// Whether or not the scheduler has seen this report yet, the
		// deadline it has is at least two thirds of the TTL away.
		clk.Advance(ttl / 3)
		if s := statusOf(st, id); s != store.Passing {
			t.Fatalf("report %d: status %s though reports came every %s", i, s, ttl/3)
		}
	}
	clk.Advance(ttl)
	waitFor(t, 5*time.Second, "critical after the TTL passed", func() bool { return statusOf(st, id) == store.Critical })
	if out := checkOf(st, id).Output; !strings.HasPrefix(out, "TTL expired") {
		t.Errorf("output = %q, want it to say the TTL expired", out)
	}

	// A report brings it back; warning reports are kept as warning.
	if err := st.UpdateTTL(id, store.Warning, "slow"); err != nil {
		t.Fatal(err)
	}
	if c := checkOf(st, id); c.Status != store.Warning || c.Output != "slow" {
		t.Errorf("after a warn report: %s %q", c.Status, c.Output)
	}
	nextRun(t, clk, ttl)
	waitFor(t, 5*time.Second, "critical again without reports", func() bool { return statusOf(st, id) == store.Critical })
}

// TestTTLCriticalReportWaits: a check reported critical has nothing to
// expire: the scheduler plans nothing for it, and it is not rewritten
// when its deadline passes.
func TestTTLCriticalReportWaits(t *testing.T) {
	clk := testkit.NewClock()
	st := openStore(t, t.TempDir(), clk.Now)
	start(t, st, Config{Clock: clk})
	register(t, st, "job-1", store.CheckSpec{TTL: 2 * time.Second, Status: store.Passing})
	if !clk.WaitPending(1, 5*time.Second) {
		t.Fatal("no expiry planned for a passing TTL check")
	}
	if err := st.UpdateTTL("service:job-1", store.Critical, "failing on purpose"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the expiry dropped", func() bool { return clk.Pending() == 0 })
	clk.Advance(time.Minute)
	if c := checkOf(st, "service:job-1"); c.Status != store.Critical || c.Output != "failing on purpose" {
		t.Errorf("after the deadline: %s %q, want the report kept", c.Status, c.Output)
	}
}

package health

import (
	"strings"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/store"
)

func TestTTLExpiresWithoutReports(t *testing.T) {
	st := openStore(t, t.TempDir(), nil)
	start(t, st, Config{})
	const ttl = 300 * time.Millisecond
	register(t, st, "job-1", store.CheckSpec{TTL: ttl, Status: store.Passing})
	id := "service:job-1"

	// Reports every third of the TTL keep it passing well past the TTL.
	var last time.Time
	for i := 0; i < 8; i++ {
		last = time.Now()
		if err := st.UpdateTTL(id, store.Passing, "alive"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(ttl / 3)
		if s := statusOf(st, id); s != store.Passing {
			t.Fatalf("report %d: status %s though reports came every %s", i, s, ttl/3)
		}
	}
	took := waitFor(t, ttl+time.Second, "critical after the TTL passed", func() bool { return statusOf(st, id) == store.Critical })
	if since := time.Since(last); since < ttl {
		t.Errorf("critical %s after the last report, before the TTL of %s", since, ttl)
	}
	t.Logf("critical within %s of the end of reports", took)
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
	waitFor(t, ttl+time.Second, "critical again without reports", func() bool { return statusOf(st, id) == store.Critical })
}

// TestTTLCriticalReportWaits: a check reported critical has nothing to
// expire; it is not rewritten at its deadline.
func TestTTLCriticalReportWaits(t *testing.T) {
	st := openStore(t, t.TempDir(), nil)
	start(t, st, Config{})
	register(t, st, "job-1", store.CheckSpec{TTL: 200 * time.Millisecond, Status: store.Passing})
	if err := st.UpdateTTL("service:job-1", store.Critical, "failing on purpose"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if c := checkOf(st, "service:job-1"); c.Status != store.Critical || c.Output != "failing on purpose" {
		t.Errorf("after the deadline: %s %q, want the report kept", c.Status, c.Output)
	}
}

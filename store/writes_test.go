package store

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

func TestCheckLifecycle(t *testing.T) {
	s := openTest(t, "", nil)
	mustRegister(t, s, Registration{ID: "web1", Name: "web", Checks: []CheckSpec{{TTL: time.Minute, Status: Passing}}})

	steps := []struct {
		name   string
		do     func() error
		err    error
		health Status
	}{
		{"add http check", func() error {
			return s.RegisterCheck(CheckSpec{ServiceID: "web1", Name: "http", HTTP: "http://x/", Interval: time.Second, Status: Warning})
		}, nil, Warning},
		{"check on unknown instance", func() error {
			return s.RegisterCheck(CheckSpec{ServiceID: "nope", Name: "c", TTL: time.Second})
		}, ErrNotFound, Warning},
		{"check without service", func() error { return s.RegisterCheck(CheckSpec{Name: "c", TTL: time.Second}) }, ErrInvalid, Warning},
		{"ttl fail", func() error { return s.UpdateTTL("service:web1", Critical, "down") }, nil, Critical},
		{"ttl pass", func() error { return s.UpdateTTL("service:web1", Passing, "") }, nil, Warning},
		{"ttl update on http check", func() error { return s.UpdateTTL("http", Passing, "") }, ErrInvalid, Warning},
		{"ttl unknown check", func() error { return s.UpdateTTL("nope", Passing, "") }, ErrNotFound, Warning},
		{"health result", func() error { return s.SetCheckStatus("http", Passing, "200 OK") }, nil, Passing},
		{"maintenance on", func() error { return s.SetMaintenance("web1", true, "") }, nil, Critical},
		{"maintenance unknown", func() error { return s.SetMaintenance("nope", true, "") }, ErrNotFound, Critical},
		{"maintenance off", func() error { return s.SetMaintenance("web1", false, "") }, nil, Passing},
		{"maintenance off again", func() error { return s.SetMaintenance("web1", false, "") }, nil, Passing},
		{"deregister check", func() error { return s.DeregisterCheck("http") }, nil, Passing},
		{"deregister unknown check", func() error { return s.DeregisterCheck("http") }, ErrNotFound, Passing},
		{"deregister unknown instance", func() error { return s.Deregister("nope") }, ErrNotFound, Passing},
	}
	for _, st := range steps {
		before := s.Snapshot()
		err := st.do()
		if st.err == nil && err != nil || st.err != nil && !errors.Is(err, st.err) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.err)
		}
		if err != nil && s.Snapshot() != before {
			t.Errorf("%s: failed write published a snapshot", st.name)
		}
		if h := s.Snapshot().Instance("web1").Health; h != st.health {
			t.Errorf("%s: health %s, want %s", st.name, h, st.health)
		}
	}
	c, _ := s.Snapshot().Check("service:web1")
	if c == nil || c.Status != Passing {
		t.Fatalf("TTL check = %+v", c)
	}
}

func TestMaintenanceCheckShape(t *testing.T) {
	s := openTest(t, "", nil)
	mustRegister(t, s, Registration{ID: "web1", Name: "web"})
	if err := s.SetMaintenance("web1", true, "deploying"); err != nil {
		t.Fatal(err)
	}
	c, in := s.Snapshot().Check("_service_maintenance:web1")
	if c == nil || c.Name != "Service Maintenance Mode" || c.Notes != "deploying" || c.Status != Critical || c.ServiceID != "web1" {
		t.Fatalf("maintenance check = %+v", c)
	}
	// Re-registering keeps maintenance mode even with replace-existing-checks.
	mustRegister(t, s, Registration{ID: "web1", Name: "web", ReplaceExistingChecks: true})
	if c, _ := s.Snapshot().Check("_service_maintenance:web1"); c == nil || in.Health != Critical {
		t.Error("re-registration dropped maintenance mode")
	}
}

func TestReRegisterKeepsStatus(t *testing.T) {
	s := openTest(t, "", nil)
	spec := CheckSpec{ID: "h", HTTP: "http://x/", Interval: time.Second}
	mustRegister(t, s, Registration{ID: "web1", Name: "web", Checks: []CheckSpec{spec, {ID: "t", TTL: time.Minute}}})
	if err := s.SetCheckStatus("h", Passing, "ok"); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, s, Registration{ID: "web1", Name: "web", Port: 81, Checks: []CheckSpec{spec}})
	in := s.Snapshot().Instance("web1")
	if len(in.Checks) != 2 {
		t.Fatalf("without replace-existing-checks the TTL check must stay: %d checks", len(in.Checks))
	}
	if c, _ := s.Snapshot().Check("h"); c.Status != Passing || c.Output != "ok" {
		t.Errorf("re-registration reset the status: %+v", c)
	}
	mustRegister(t, s, Registration{ID: "web1", Name: "web", Checks: []CheckSpec{spec}, ReplaceExistingChecks: true})
	if in := s.Snapshot().Instance("web1"); len(in.Checks) != 1 {
		t.Errorf("replace-existing-checks kept %d checks, want 1", len(in.Checks))
	}
	spec.HTTP = "http://y/"
	mustRegister(t, s, Registration{ID: "web1", Name: "web", Checks: []CheckSpec{spec}})
	if c, _ := s.Snapshot().Check("h"); c.Status != Critical {
		t.Errorf("a check with a new target kept its old status: %+v", c)
	}
}

func TestRenameMovesInstance(t *testing.T) {
	s := openTest(t, "", nil)
	mustRegister(t, s, Registration{ID: "x", Name: "old", Address: "10.0.0.1"})
	mustRegister(t, s, Registration{ID: "x", Name: "new", Address: "10.0.0.2"})
	snap := s.Snapshot()
	if snap.Service("old") != nil {
		t.Error("old service still present")
	}
	if svc := snap.Service("new"); svc == nil || len(svc.Instances) != 1 {
		t.Errorf("new service = %+v", svc)
	}
	if got := snap.ServicesAt(netip.MustParseAddr("10.0.0.1")); len(got) != 0 {
		t.Errorf("old address still indexed: %v", got)
	}
	if got := snap.ServicesAt(netip.MustParseAddr("10.0.0.2")); len(got) != 1 || got[0] != "new" {
		t.Errorf("new address not indexed: %v", got)
	}
}

func TestReapCriticalInstances(t *testing.T) {
	clk := testkit.NewClock()
	s := openTest(t, "", clk)
	mustRegister(t, s, Registration{ID: "doomed", Name: "web", Checks: []CheckSpec{{TTL: time.Minute, DeregisterCriticalServiceAfter: 10 * time.Second}}})
	mustRegister(t, s, Registration{ID: "healthy", Name: "web", Checks: []CheckSpec{{TTL: time.Minute, Status: Passing, DeregisterCriticalServiceAfter: 10 * time.Second}}})
	if !clk.WaitPending(1, 5*time.Second) {
		t.Fatal("the reaper armed no timer for a critical instance")
	}
	clk.Advance(10*time.Second - time.Nanosecond)
	if s.Snapshot().Instance("doomed") == nil || clk.Pending() != 1 {
		t.Fatalf("reaper woke before the deadline (instance present: %v, timers pending: %d)",
			s.Snapshot().Instance("doomed") != nil, clk.Pending())
	}
	clk.Advance(time.Nanosecond)
	waitSnapshot(t, s, "the critical instance reaped at its deadline", func(snap *Snapshot) bool { return snap.Instance("doomed") == nil })
	if s.Snapshot().Instance("healthy") == nil {
		t.Error("passing instance was reaped")
	}
}

// TestReapCountsFromStart checks that beacon's own downtime does not count
// towards DeregisterCriticalServiceAfter: an instance critical when beacon
// stopped is reaped its full DeregisterCriticalServiceAfter after the next
// start, as Consul does, and not at once.
func TestReapCountsFromStart(t *testing.T) {
	dir := t.TempDir()
	clk := testkit.NewClock()
	s := openTest(t, dir, clk)
	mustRegister(t, s, Registration{ID: "doomed", Name: "web", Checks: []CheckSpec{{TTL: time.Minute, DeregisterCriticalServiceAfter: 10 * time.Second}}})
	clk.Advance(8 * time.Second)
	closeChecked(t, s)
	clk.Advance(time.Hour) // beacon is down for an hour

	s = openTest(t, dir, clk)
	if !clk.WaitPending(1, 5*time.Second) {
		t.Fatal("no reaper timer armed after the restart")
	}
	if s.Snapshot().Instance("doomed") == nil {
		t.Fatal("instance reaped at start, counting beacon's downtime as critical time")
	}
	clk.Advance(10*time.Second - time.Nanosecond)
	if s.Snapshot().Instance("doomed") == nil || clk.Pending() != 1 {
		t.Fatal("instance reaped before a full DeregisterCriticalServiceAfter after the start")
	}
	clk.Advance(time.Nanosecond)
	waitSnapshot(t, s, "the instance reaped a full DeregisterCriticalServiceAfter after the start",
		func(snap *Snapshot) bool { return snap.Instance("doomed") == nil })
	closeChecked(t, s)
	if openTest(t, dir, clk).Snapshot().Instance("doomed") != nil {
		t.Error("the reaped instance came back after a restart")
	}
}

func TestExpireTTL(t *testing.T) {
	clk := testkit.NewClock()
	s := openTest(t, "", clk)
	mustRegister(t, s, Registration{ID: "w", Name: "web", Checks: []CheckSpec{{TTL: 10 * time.Second, Status: Passing}}})
	clk.Advance(5 * time.Second)
	if err := s.ExpireTTL("service:w"); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Snapshot().Check("service:w"); c.Status != Passing {
		t.Fatal("expired before the TTL passed")
	}
	if err := s.UpdateTTL("service:w", Passing, ""); err != nil {
		t.Fatal(err)
	}
	clk.Advance(9 * time.Second)
	s.ExpireTTL("service:w")
	if c, _ := s.Snapshot().Check("service:w"); c.Status != Passing {
		t.Fatal("a heartbeat did not extend the TTL")
	}
	clk.Advance(2 * time.Second)
	s.ExpireTTL("service:w")
	c, _ := s.Snapshot().Check("service:w")
	if c.Status != Critical || c.Output == "" {
		t.Fatalf("after the TTL: %+v", c)
	}
}

func TestCommitFailureChangesNothing(t *testing.T) {
	s := openTest(t, "", nil)
	mustRegister(t, s, Registration{ID: "a", Name: "web"})
	before := s.Snapshot()
	s.db.Close() // every later commit fails as a full or broken disk would
	if _, err := s.Register(Registration{ID: "b", Name: "web"}); err == nil {
		t.Fatal("register succeeded with the database closed")
	}
	if err := s.Deregister("a"); err == nil {
		t.Fatal("deregister succeeded with the database closed")
	}
	if s.Snapshot() != before {
		t.Error("a failed commit changed the published snapshot")
	}
	crash(s)
}

func TestIdenticalReRegistrationChangesNothing(t *testing.T) {
	s := openTest(t, "", nil)
	r := Registration{ID: "w", Name: "web", Address: "10.0.0.1", Port: 80, Tags: []string{"a"},
		Meta: map[string]string{"k": "v"}, Checks: []CheckSpec{{HTTP: "http://10.0.0.1/", Interval: time.Second}, {TTL: time.Minute}}}
	mustRegister(t, s, r)
	if err := s.SetCheckStatus("service:w:1", Passing, "ok"); err != nil {
		t.Fatal(err)
	}
	before := s.Snapshot()
	mustRegister(t, s, r)
	if s.Snapshot() != before || closed(before.Service("web").Changed()) {
		t.Error("an identical re-registration published a change")
	}
	r.Port = 81
	mustRegister(t, s, r)
	if s.Snapshot().Index() == before.Index() || s.Snapshot().Instance("w").Port != 81 {
		t.Error("a changed re-registration was not applied")
	}
}

func TestCheckLimitHoldsAcrossWrites(t *testing.T) {
	s := openTest(t, "", nil)
	specs := func(prefix string, n int) []CheckSpec {
		out := make([]CheckSpec, n)
		for i := range out {
			out[i] = CheckSpec{ID: fmt.Sprintf("%s%d", prefix, i), TTL: time.Minute}
		}
		return out
	}
	mustRegister(t, s, Registration{ID: "w", Name: "web", Checks: specs("a", MaxChecks)})
	if err := s.RegisterCheck(CheckSpec{ServiceID: "w", ID: "extra", TTL: time.Minute}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a 33rd check through RegisterCheck: %v, want refused", err)
	}
	if err := s.RegisterCheck(CheckSpec{ServiceID: "w", ID: "a0", TTL: 2 * time.Minute}); err != nil {
		t.Errorf("replacing one of 32 checks: %v", err)
	}
	if _, err := s.Register(Registration{ID: "w", Name: "web", Checks: specs("b", 1)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("re-registration keeping 32 checks and adding one: %v, want refused", err)
	}
	if _, err := s.Register(Registration{ID: "w", Name: "web", Checks: specs("b", MaxChecks), ReplaceExistingChecks: true}); err != nil {
		t.Errorf("replacing all checks: %v", err)
	}
	if err := s.SetMaintenance("w", true, ""); err != nil {
		t.Errorf("maintenance does not count against the limit: %v", err)
	}
	if n := len(s.Snapshot().Instance("w").Checks); n != MaxChecks+1 {
		t.Errorf("%d checks, want %d plus maintenance", n, MaxChecks)
	}
}

package store

import (
	"strings"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// explainFixture registers one instance for each reason Explain gives,
// in service "web", on a store whose clock stands still.
func explainFixture(t *testing.T) (*Store, *testkit.Clock) {
	t.Helper()
	clk := testkit.NewClock()
	s := openTest(t, "", clk)
	reg := func(id, addr string, tags []string, checks ...CheckSpec) {
		mustRegister(t, s, Registration{ID: id, Name: "web", Address: addr, Port: 80, Tags: tags, Checks: checks})
	}
	blue := []string{"blue"}
	reg("pass", "10.0.0.1", blue, CheckSpec{ID: "pass-http", HTTP: "http://10.0.0.1/", Interval: 10 * time.Second, Status: Passing})
	reg("crit", "10.0.0.2", blue, CheckSpec{ID: "crit-tcp", TCP: "10.0.0.2:80", Interval: time.Minute, Status: Critical, Output: "dial tcp 10.0.0.2:80: connection refused"})
	reg("maint", "10.0.0.3", blue)
	if err := s.SetMaintenance("maint", true, "disk swap"); err != nil {
		t.Fatal(err)
	}
	reg("warn", "10.0.0.4", blue, CheckSpec{ID: "warn-http", HTTP: "http://10.0.0.4/", Interval: time.Minute, Status: Warning, Output: "HTTP GET http://10.0.0.4/: 429 Too Many Requests"})
	reg("green", "10.0.0.5", []string{"green"})
	reg("ttl", "10.0.0.6", blue, CheckSpec{ID: "ttl-check", TTL: 20 * time.Second, Status: Passing})
	reg("host", "db.example.com", blue)
	return s, clk
}

func explained(e Explanation, id string) InstanceExplanation {
	for _, x := range e.Instances {
		if x.ID == id {
			return x
		}
	}
	return InstanceExplanation{ID: "missing " + id}
}

func TestExplain(t *testing.T) {
	s, clk := explainFixture(t)
	clk.Advance(5 * time.Second)
	since := "2026-01-02T03:04:05Z"
	svc := s.Snapshot().Service("web")
	base := DNSPolicy{TTL: 30 * time.Second, WarningTTL: 5 * time.Second}
	onlyPassing := base
	onlyPassing.OnlyPassing = true
	panicky := base
	panicky.PanicThreshold = 0.9

	type want struct {
		in      bool
		reasons []string // substrings, each in some reason
		ttl     time.Duration
		caps    []string // substrings, each in some cap
	}
	for _, c := range []struct {
		name   string
		policy DNSPolicy
		tag    string
		panic  bool
		want   map[string]want
	}{
		{"default", base, "", false, map[string]want{
			"pass":  {in: true, ttl: 10 * time.Second, caps: []string{"-ttl 30s", `interval 10s of check "pass-http"`}},
			"crit":  {reasons: []string{`check "crit-tcp" is critical since ` + since + ": dial tcp 10.0.0.2:80: connection refused"}},
			"maint": {reasons: []string{"maintenance mode since " + since + ": disk swap"}},
			"warn":  {in: true, ttl: 5 * time.Second, reasons: []string{`check "warn-http" is warning since ` + since, "429 Too Many Requests", "priority 2"}, caps: []string{"-warning-ttl 5s"}},
			"green": {in: true, ttl: 30 * time.Second, caps: []string{"-ttl 30s"}},
			"ttl":   {in: true, ttl: 15 * time.Second, caps: []string{`TTL check "ttl-check" expires in 15s`}},
			"host":  {in: true, ttl: 30 * time.Second, reasons: []string{`"db.example.com" is a host name`}},
		}},
		{"only passing", onlyPassing, "", false, map[string]want{
			"pass": {in: true, ttl: 10 * time.Second},
			"warn": {reasons: []string{`check "warn-http" is warning since ` + since + " and -only-passing leaves warning instances out"}},
		}},
		{"tag", base, "blue", false, map[string]want{
			"pass":  {in: true, ttl: 10 * time.Second},
			"green": {reasons: []string{`does not carry the tag "blue"`}},
		}},
		// Five of the six not in maintenance are healthy: below 0.9.
		{"panic", panicky, "", true, map[string]want{
			"crit":  {in: true, ttl: 5 * time.Second, reasons: []string{`"crit-tcp" is critical`, "panic mode (5 of 6 instances not in maintenance are healthy, below -panic-threshold 0.9)"}, caps: []string{"-warning-ttl 5s: the service is in panic mode"}},
			"maint": {reasons: []string{"maintenance mode since"}},
			"pass":  {in: true, ttl: 5 * time.Second},
			"ttl":   {in: true, ttl: 5 * time.Second},
		}},
		{"panic and tag", panicky, "green", true, map[string]want{
			"crit":  {reasons: []string{`does not carry the tag "green"`, "panic mode"}},
			"green": {in: true, ttl: 5 * time.Second},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := c.policy.Explain(svc, c.tag, clk.Now())
			if e.Service != "web" || e.Panic != c.panic || len(e.Instances) != 7 {
				t.Fatalf("service %q panic %v with %d instances, want web, %v, 7", e.Service, e.Panic, len(e.Instances), c.panic)
			}
			for i := 1; i < len(e.Instances); i++ {
				if e.Instances[i-1].ID >= e.Instances[i].ID {
					t.Errorf("instances not sorted by ID: %q before %q", e.Instances[i-1].ID, e.Instances[i].ID)
				}
			}
			for id, w := range c.want {
				x := explained(e, id)
				if x.InDNS != w.in {
					t.Errorf("%s: InDNS %v, want %v (reasons %q)", id, x.InDNS, w.in, x.Reasons)
				}
				if x.TTL != w.ttl {
					t.Errorf("%s: TTL %s, want %s (caps %q)", id, x.TTL, w.ttl, x.TTLCaps)
				}
				for _, r := range w.reasons {
					if !containsIn(x.Reasons, r) {
						t.Errorf("%s: reasons %q lack %q", id, x.Reasons, r)
					}
				}
				for _, r := range w.caps {
					if !containsIn(x.TTLCaps, r) {
						t.Errorf("%s: TTL caps %q lack %q", id, x.TTLCaps, r)
					}
				}
				if w.in && !c.panic && len(w.reasons) == 0 && len(x.Reasons) > 0 {
					t.Errorf("%s: in DNS with nothing notable, but reasons %q", id, x.Reasons)
				}
				if !w.in && len(x.Reasons) == 0 {
					t.Errorf("%s: not in DNS without a reason", id)
				}
			}
		})
	}
}

func containsIn(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestInPanicCounts follows the service counts the panic decision reads
// through writes: maintenance is out of both counts, warning counts as
// healthy unless OnlyPassing.
func TestInPanicCounts(t *testing.T) {
	s := openTest(t, "", nil)
	for _, id := range []string{"a", "b", "c", "d"} {
		mustRegister(t, s, Registration{ID: id, Name: "api", Checks: []CheckSpec{{ID: id, TTL: time.Hour, Status: Passing}}})
	}
	p := DNSPolicy{PanicThreshold: 0.5}
	op := DNSPolicy{PanicThreshold: 0.5, OnlyPassing: true}
	steps := []struct {
		name     string
		do       func() error
		counts   ServiceCounts
		panic    bool
		panicOnl bool
	}{
		{"all passing", func() error { return nil }, ServiceCounts{Passing: 4}, false, false},
		{"two warning", func() error {
			if err := s.UpdateTTL("a", Warning, ""); err != nil {
				return err
			}
			return s.UpdateTTL("b", Warning, "")
		}, ServiceCounts{Passing: 2, Warning: 2}, false, false},
		{"a third warning", func() error { return s.UpdateTTL("c", Warning, "") }, ServiceCounts{Passing: 1, Warning: 3}, false, true},
		{"d in maintenance", func() error { return s.SetMaintenance("d", true, "") }, ServiceCounts{Warning: 3, Critical: 1, Maintenance: 1}, false, true},
		{"c critical", func() error { return s.UpdateTTL("c", Critical, "") }, ServiceCounts{Warning: 2, Critical: 2, Maintenance: 1}, false, true},
		{"b critical", func() error { return s.UpdateTTL("b", Critical, "") }, ServiceCounts{Warning: 1, Critical: 3, Maintenance: 1}, true, true},
		{"c deregistered", func() error { return s.Deregister("c") }, ServiceCounts{Warning: 1, Critical: 2, Maintenance: 1}, false, true},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		svc := s.Snapshot().Service("api")
		if got := svc.Counts(); got != st.counts {
			t.Errorf("%s: counts %+v, want %+v", st.name, got, st.counts)
		}
		if got := p.InPanic(svc); got != st.panic {
			t.Errorf("%s: InPanic %v, want %v", st.name, got, st.panic)
		}
		if got := op.InPanic(svc); got != st.panicOnl {
			t.Errorf("%s: InPanic with OnlyPassing %v, want %v", st.name, got, st.panicOnl)
		}
		wantNames := []string(nil)
		if st.panic {
			wantNames = []string{"api"}
		}
		if got := p.PanicServices(s.Snapshot()); strings.Join(got, ",") != strings.Join(wantNames, ",") {
			t.Errorf("%s: PanicServices %v, want %v", st.name, got, wantNames)
		}
	}
	if (DNSPolicy{}).InPanic(s.Snapshot().Service("api")) {
		t.Error("a zero threshold put a service in panic mode")
	}
}

func TestTTLSeconds(t *testing.T) {
	for d, want := range map[time.Duration]uint32{0: 1, 1500 * time.Millisecond: 1, 30 * time.Second: 30, 90*time.Second + 999*time.Millisecond: 90, 1 << 62: 1<<31 - 1} {
		if got := TTLSeconds(d); got != want {
			t.Errorf("TTLSeconds(%s) = %d, want %d", d, got, want)
		}
	}
}

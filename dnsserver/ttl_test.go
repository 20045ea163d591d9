package dnsserver

import (
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
)

// answerTTLs queries name and returns the TTL of every answer and
// additional record, checking that each RRset has one TTL.
func answerTTL(t *testing.T, f *fixture, name string, qtype uint16) uint32 {
	t.Helper()
	var ttl uint32
	for _, tr := range transports {
		q := new(dns.Msg).SetQuestion(name, qtype)
		r := tr.do(t, f, q)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			t.Fatalf("%s %s over %s: %s with %d answers", name, dns.TypeToString[qtype], tr.name, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
		first := r.Answer[0].Header().Ttl
		for _, rr := range append(r.Answer, withoutOPT(r.Extra)...) {
			if rr.Header().Ttl != first {
				t.Fatalf("%s over %s: TTLs differ within the answer: %v", name, tr.name, r)
			}
		}
		if tr.name != "handler" && first != ttl {
			t.Fatalf("%s: TTL %d over %s, %d over handler", name, first, tr.name, ttl)
		}
		ttl = first
	}
	return ttl
}

func TestTTLPolicy(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.TTL = 30 * time.Second; c.WarningTTL = 7 * time.Second })
	reg := func(id, name string, checks ...store.CheckSpec) {
		f.register(t, store.Registration{ID: id, Name: name, Address: "10.9.0." + id[len(id)-1:], Port: 1, Checks: checks})
	}
	reg("p1", "plain")
	reg("h1", "interval", store.CheckSpec{HTTP: "http://127.0.0.1:1/", Interval: 12 * time.Second, Status: store.Passing})
	reg("h2", "longinterval", store.CheckSpec{TCP: "127.0.0.1:1", Interval: time.Minute, Status: store.Passing})
	reg("w1", "warn", store.CheckSpec{HTTP: "http://127.0.0.1:1/", Interval: 20 * time.Second, Status: store.Warning})
	reg("w2", "warnshort", store.CheckSpec{TCP: "127.0.0.1:1", Interval: 3 * time.Second, Status: store.Warning})
	reg("t1", "ttlcheck", store.CheckSpec{TTL: 20 * time.Second, Status: store.Passing})
	reg("m1", "mixed")
	reg("m2", "mixed", store.CheckSpec{TCP: "127.0.0.1:1", Interval: 9 * time.Second, Status: store.Passing})

	for _, c := range []struct {
		name string
		want uint32
	}{
		{"plain", 30},        // passing: -ttl
		{"interval", 12},     // capped by the HTTP check's interval
		{"longinterval", 30}, // an interval above -ttl caps nothing
		{"warn", 7},          // warning: -warning-ttl
		{"warnshort", 3},     // and capped by the interval too
		{"ttlcheck", 20},     // time left on the TTL check
		{"mixed", 9},         // the RRset takes the smallest
	} {
		for _, qt := range []uint16{dns.TypeA, dns.TypeSRV} {
			if got := answerTTL(t, f, c.name+".service.local.", qt); got != c.want {
				t.Errorf("%s %s: TTL %d, want %d", c.name, dns.TypeToString[qt], got, c.want)
			}
		}
	}

	// Time passing shortens the TTL-check cap; cached answers follow.
	f.clk.Add(7 * time.Second)
	if got := answerTTL(t, f, "ttlcheck.service.local.", dns.TypeSRV); got != 13 {
		t.Errorf("7s later: TTL %d, want 13", got)
	}
	f.clk.Add(500 * time.Millisecond)
	if got := answerTTL(t, f, "ttlcheck.service.local.", dns.TypeSRV); got != 12 {
		t.Errorf("7.5s later: TTL %d, want 12 (rounded down)", got)
	}
	// A report renews the full TTL.
	if err := f.st.UpdateTTL("service:t1", store.Passing, "ok"); err != nil {
		t.Fatal(err)
	}
	if got := answerTTL(t, f, "ttlcheck.service.local.", dns.TypeA); got != 20 {
		t.Errorf("after a report: TTL %d, want 20", got)
	}
	// Past the deadline, before the health checker marks it critical:
	// at least one second.
	f.clk.Add(25 * time.Second)
	if got := answerTTL(t, f, "ttlcheck.service.local.", dns.TypeA); got != 1 {
		t.Errorf("past the deadline: TTL %d, want 1", got)
	}
	// Turning warning through the store switches to -warning-ttl.
	if err := f.st.SetCheckStatus("service:h1", store.Warning, "slow"); err != nil {
		t.Fatal(err)
	}
	if got := answerTTL(t, f, "interval.service.local.", dns.TypeA); got != 7 {
		t.Errorf("interval turned warning: TTL %d, want 7", got)
	}
}

func TestNegativeTTL(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.NegativeTTL = 42 * time.Second })
	for _, tr := range transports {
		for _, name := range []string{"nope.service.local.", "service.local."} {
			r := tr.do(t, f, new(dns.Msg).SetQuestion(name, dns.TypeA))
			if len(r.Ns) != 1 {
				t.Fatalf("%s over %s: authority %v, want the SOA", name, tr.name, r.Ns)
			}
			soa := r.Ns[0].(*dns.SOA)
			if soa.Hdr.Ttl != 42 || soa.Minttl != 42 {
				t.Errorf("%s over %s: SOA TTL %d minimum %d, want 42 and 42", name, tr.name, soa.Hdr.Ttl, soa.Minttl)
			}
		}
	}
}

func TestInstanceTTLUnit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := store.DNSPolicy{TTL: 30 * time.Second, WarningTTL: 5 * time.Second}
	in := &store.Instance{Health: store.Passing, Checks: []*store.Check{
		{Kind: store.KindTTL, TTL: 15 * time.Second, Heartbeat: now.Add(-5 * time.Second)},
		{Kind: store.KindTTL, TTL: 60 * time.Second, Heartbeat: now},
	}}
	ttl, deadline := p.InstanceTTL(in, now, false)
	if ttl != 10*time.Second || !deadline.Equal(now.Add(10*time.Second)) {
		t.Errorf("got %s until %s, want 10s and the earlier deadline", ttl, deadline)
	}
	if s := seconds(1500 * time.Millisecond); s != 1 {
		t.Errorf("seconds(1.5s) = %d", s)
	}
}

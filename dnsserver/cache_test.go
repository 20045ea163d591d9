package dnsserver

import (
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/beacon-dns/beacon/store"
)

// TestCacheInvalidation checks that every change to what an answer reads
// shows on the very next query, over every transport.
func TestCacheInvalidation(t *testing.T) {
	f := newFixture(t, nil)
	seed(t, f)
	serial := func() uint32 { return uint32(f.st.Snapshot().Index()) }
	soa := func() []string {
		return []string{"service.local. 5 IN SOA ns.service.local. hostmaster.service.local. " + strconv.Itoa(int(serial())) + " 3600 600 86400 5"}
	}
	steps := []struct {
		name   string
		change func()
		cases  func() []Case
	}{
		{"start", func() {}, func() []Case {
			return []Case{
				{Qname: "web.service.local.", Qtype: dns.TypeA, Answer: []string{"web.service.local. 30 IN A 10.0.0.5", "web.service.local. 30 IN A 10.0.0.6"}},
				{Qname: "new.service.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: soa()},
				{Qname: "v3.web.service.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: soa()},
				{Qname: "5.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []string{"5.0.0.10.in-addr.arpa. 30 IN PTR api.service.local.", "5.0.0.10.in-addr.arpa. 30 IN PTR web.service.local."}},
			}
		}},
		{"register an instance", func() {
			f.register(t, store.Registration{ID: "web4", Name: "web", Address: "10.0.0.8", Port: 1, Tags: []string{"v3"}})
		}, func() []Case {
			return []Case{
				{Qname: "web.service.local.", Qtype: dns.TypeA, Answer: []string{"web.service.local. 30 IN A 10.0.0.5", "web.service.local. 30 IN A 10.0.0.6", "web.service.local. 30 IN A 10.0.0.8"}},
				{Qname: "v3.web.service.local.", Qtype: dns.TypeA, Answer: []string{"v3.web.service.local. 30 IN A 10.0.0.8"}},
			}
		}},
		{"register a service", func() {
			f.register(t, store.Registration{ID: "new1", Name: "new", Address: "10.0.0.5", Port: 1})
		}, func() []Case {
			return []Case{
				{Qname: "new.service.local.", Qtype: dns.TypeA, Answer: []string{"new.service.local. 30 IN A 10.0.0.5"}},
				{Qname: "5.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []string{"5.0.0.10.in-addr.arpa. 30 IN PTR api.service.local.", "5.0.0.10.in-addr.arpa. 30 IN PTR new.service.local.", "5.0.0.10.in-addr.arpa. 30 IN PTR web.service.local."}},
			}
		}},
		{"status critical", func() {
			if err := f.st.SetMaintenance("web2", true, "test"); err != nil {
				t.Fatal(err)
			}
		}, func() []Case {
			return []Case{
				{Qname: "web.service.local.", Qtype: dns.TypeA, Answer: []string{"web.service.local. 30 IN A 10.0.0.5", "web.service.local. 30 IN A 10.0.0.8"}},
				{Qname: "v2.web.service.local.", Qtype: dns.TypeA, Ns: soa()},
			}
		}},
		{"status warning", func() {
			if err := f.st.UpdateTTL("service:warn2", store.Passing, ""); err != nil {
				t.Fatal(err)
			}
		}, func() []Case {
			return []Case{
				{Qname: "warn.service.local.", Qtype: dns.TypeA, Answer: []string{"warn.service.local. 30 IN A 10.0.1.1", "warn.service.local. 30 IN A 10.0.1.2"}},
			}
		}},
		{"deregister", func() {
			for _, id := range []string{"web4", "new1"} {
				if err := f.st.Deregister(id); err != nil {
					t.Fatal(err)
				}
			}
		}, func() []Case {
			return []Case{
				{Qname: "web.service.local.", Qtype: dns.TypeA, Answer: []string{"web.service.local. 30 IN A 10.0.0.5"}},
				{Qname: "new.service.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: soa()},
				{Qname: "v3.web.service.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: soa()},
			}
		}},
	}
	for _, s := range steps {
		s.change()
		for _, tr := range transports {
			for _, c := range s.cases() {
				for range 3 {
					q := c.Msg()
					r := tr.do(t, f, q)
					if t.Failed() {
						t.Fatalf("after %q over %s", s.name, tr.name)
					}
					c.check(t, q, r)
				}
			}
		}
	}
	hits := testutil.ToFloat64(f.srv.h.met.hits)
	misses := testutil.ToFloat64(f.srv.h.met.misses)
	if hits == 0 || misses == 0 {
		t.Errorf("cache hits %v misses %v; want both", hits, misses)
	}
}

// TestCacheHitServesCopies checks that hits count, and that a hit does
// not depend on the case or ID of the query that filled the cache.
func TestCacheHits(t *testing.T) {
	f := newFixture(t, nil)
	seed(t, f)
	h := f.srv.h
	c := Case{Qname: "web.service.local.", Qtype: dns.TypeSRV}
	for i, name := range []string{"web.service.local.", "WEB.SERVICE.LOCAL.", "wEb.SeRvIcE.lOcAl."} {
		q := new(dns.Msg).SetQuestion(name, dns.TypeSRV)
		q.RecursionDesired = i%2 == 0
		q.CheckingDisabled = i == 1
		r := serveDirect(t, h, q, false)
		if r.Question[0].Name != name || r.RecursionDesired != q.RecursionDesired || r.CheckingDisabled != q.CheckingDisabled || r.Id != q.Id {
			t.Errorf("%s: reply question %q RD %v CD %v ID %d", c, r.Question[0].Name, r.RecursionDesired, r.CheckingDisabled, r.Id)
		}
		if len(r.Answer) != 3 || len(r.Extra) != 3 {
			t.Errorf("%s: %d answers %d extra", name, len(r.Answer), len(r.Extra))
		}
	}
	if got := testutil.ToFloat64(h.met.hits); got != 2 {
		t.Errorf("hits %v, want 2", got)
	}
	if got := testutil.ToFloat64(h.met.misses); got != 1 {
		t.Errorf("misses %v, want 1", got)
	}
}

// TestUnpackableNotCached checks that a reply that would not pack is
// answered SERVFAIL and that the SERVFAIL is not kept for the question.
func TestUnpackableNotCached(t *testing.T) {
	f := newFixture(t, nil)
	seed(t, f)
	h := f.srv.h
	q := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA)
	e := parseEDNS(q)
	ck := h.cacheKey(q, e, false)
	m, mt := h.build(q, f.st.Snapshot(), e, false)
	m.Rcode = dns.RcodeBadCookie // extended, and no OPT to carry it
	rec := &recorder{}
	h.write(rec, q, m, &mt, ck, 512, time.Time{})
	if r := new(dns.Msg); r.Unpack(rec.buf) != nil || r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("unpackable reply: got %x, want SERVFAIL", rec.buf)
	}
	if r := serveDirect(t, h, q, false); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
		t.Errorf("next query: %s with %d answers, want the addresses", dns.RcodeToString[r.Rcode], len(r.Answer))
	}
}

// TestCacheDisabled checks that a negative CacheSize serves everything
// fresh.
func TestCacheDisabled(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.CacheSize = -1 })
	seed(t, f)
	for range 3 {
		r := serveDirect(t, f.srv.h, new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA), false)
		if len(r.Answer) != 2 {
			t.Fatalf("answers %v", r.Answer)
		}
	}
	if hits, misses := testutil.ToFloat64(f.srv.h.met.hits), testutil.ToFloat64(f.srv.h.met.misses); hits+misses != 0 {
		t.Errorf("hits %v misses %v with the cache off", hits, misses)
	}
}

// TestCacheTimeBound checks that an answer whose TTL follows a TTL check
// is reused within its second and rebuilt after.
func TestCacheTimeBound(t *testing.T) {
	f := newFixture(t, nil)
	f.register(t, store.Registration{ID: "t1", Name: "beat", Address: "10.0.0.1", Port: 1,
		Checks: []store.CheckSpec{{TTL: 10 * time.Second, Status: store.Passing}}})
	h := f.srv.h
	f.clk.Add(300 * time.Millisecond) // 9.7s left: TTL 9 until 1s after the heartbeat
	ttl := func() uint32 {
		return serveDirect(t, h, new(dns.Msg).SetQuestion("beat.service.local.", dns.TypeA), false).Answer[0].Header().Ttl
	}
	if a, b := ttl(), ttl(); a != 9 || b != 9 {
		t.Fatalf("TTLs %d %d, want 9 9", a, b)
	}
	if got := testutil.ToFloat64(h.met.hits); got != 1 {
		t.Fatalf("hits %v, want 1", got)
	}
	f.clk.Add(701 * time.Millisecond)
	if got := ttl(); got != 8 {
		t.Fatalf("8.999s left: TTL %d, want 8", got)
	}
}
